"""The database turned into the engine's plain data for one season year (`SeasonContext`):
calendar, entries (the commitments), the support standard in force, the grid policy, team
names, value weights when asked for, and the support pools from the capacity core."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from paddock.answers import filled
from paddock.errors import Invalid
from paddock.motorsport import models as orm
from paddock.motorsport.capacity_view import load_grid
from paddock.motorsport.engine import calendars, standard
from paddock.motorsport.engine.grid import resource_pools
from paddock.motorsport.engine.season import SeasonContext, horizon
from paddock.motorsport.engine.standard import (
    AppliesAt,
    DemandLine,
    PoolBasis,
    ResultsRecord,
    Scope,
    SupportStandard,
    ValueWeights,
)
from paddock.motorsport.engine.standard import GridPolicy as EngineGridPolicy


def to_event(row: orm.RaceEvent, championship: str, year: int) -> calendars.CalendarEvent:
    return filled(calendars.CalendarEvent, row, championship=championship, season=year)


def to_standard(row: orm.SupportStandard) -> SupportStandard:
    lines = tuple(
        filled(
            DemandLine,
            line,
            scope=Scope(line.scope),
            applies_at=AppliesAt(line.applies_at),
            pool_basis=PoolBasis(line.pool_basis),
        )
        for line in row.lines
    )
    return filled(SupportStandard, row, lines=lines)


def to_entry(
    row: orm.TeamEntry, team_code: str, championship: str, year: int
) -> calendars.TeamEntry:
    return filled(
        calendars.TeamEntry, row, team_code=team_code, championship=championship, season=year
    )


def standard_row_for(session: Session, year: int) -> orm.SupportStandard:
    """The version in force on 1 January of the season (the newest on ties); failing that,
    the first version that comes into force during the season."""
    rows = (
        session.scalars(
            select(orm.SupportStandard)
            .options(joinedload(orm.SupportStandard.lines))
            .order_by(orm.SupportStandard.effective_from, orm.SupportStandard.version)
        )
        .unique()
        .all()
    )
    season_start, season_end = date(year, 1, 1), date(year, 12, 31)
    in_force = [r for r in rows if r.effective_from <= season_start]
    if in_force:
        return in_force[-1]
    during = [r for r in rows if r.effective_from <= season_end]
    if during:
        return during[0]
    raise Invalid(
        f"No support standard is in force for {year}: add a version effective from "
        f"{season_start} or earlier."
    )


def grid_policy_row(session: Session) -> orm.GridPolicy:
    row = session.scalar(select(orm.GridPolicy).order_by(orm.GridPolicy.id).limit(1))
    return (
        row if row is not None else orm.GridPolicy(default_max_cars=2, win_bonus=3, podium_bonus=1)
    )


def load_context(
    session: Session, *, year: int, now: datetime, with_weights: bool = False
) -> SeasonContext:
    """About nine queries: the year's seasons and events, entries, the standard in force, the
    policy, team names and the support pools by day (and, `with_weights`, past results)."""
    seasons = {
        s.championship.code: s
        for s in session.scalars(
            select(orm.Season)
            .options(joinedload(orm.Season.championship), selectinload(orm.Season.events))
            .where(orm.Season.year == year)
        ).unique()
    }
    events = [
        to_event(row, code, year) for code, season in seasons.items() for row in season.events
    ]
    season_codes = {s.id: code for code, s in seasons.items()}
    entry_ids: list[int] = []
    commitments = []
    for entry, team_code in session.execute(
        select(orm.TeamEntry, orm.CustomerTeam.code)
        .join(orm.CustomerTeam, orm.CustomerTeam.id == orm.TeamEntry.team_id)
        .where(
            orm.TeamEntry.season_id.in_(list(season_codes)),
            orm.TeamEntry.status == "entered",
        )
        .order_by(orm.TeamEntry.id)
    ):
        entry_ids.append(entry.id)
        commitments.append(to_entry(entry, team_code, season_codes[entry.season_id], year))
    standard_row = standard_row_for(session, year)
    engine_standard = to_standard(standard_row)
    policy_row = grid_policy_row(session)
    policy = EngineGridPolicy(
        default_max_cars=policy_row.default_max_cars,
        max_cars_by_series={
            code: s.championship.max_customer_cars
            for code, s in seasons.items()
            if s.championship.max_customer_cars is not None
        },
    )
    teams = session.execute(
        select(orm.CustomerTeam.code, orm.CustomerTeam.name, orm.CustomerTeam.priority)
    ).all()
    weights = None
    if with_weights:
        weights = ValueWeights(
            team_priority={code: priority for code, _, priority in teams},
            strategic_weight={code: s.championship.strategic_weight for code, s in seasons.items()},
            team_results=results_before(session, year),
            win_bonus=policy_row.win_bonus,
            podium_bonus=policy_row.podium_bonus,
        )
    start, end = horizon(year, events, engine_standard)
    grid = load_grid(session, start=start, end=end, now=now)
    return SeasonContext(
        year=year,
        season_ids={code: s.id for code, s in seasons.items()},
        events=events,
        entry_ids=entry_ids,
        commitments=commitments,
        standard_id=standard_row.id,
        standard=engine_standard,
        policy=policy,
        grid=grid,
        pools=resource_pools(grid),
        team_names={code: name for code, name, _ in teams},
        weights=weights,
    )


def results_before(session: Session, year: int) -> dict[str, ResultsRecord]:
    """Wins and podiums per team in seasons before `year`: a decision for 2024, taken in late
    2023, cannot count 2024's results."""
    rows = session.execute(
        select(orm.CustomerTeam.code, orm.RaceResult.position)
        .join(orm.TeamEntry, orm.TeamEntry.id == orm.RaceResult.entry_id)
        .join(orm.CustomerTeam, orm.CustomerTeam.id == orm.TeamEntry.team_id)
        .join(orm.Season, orm.Season.id == orm.TeamEntry.season_id)
        .where(orm.Season.year < year, orm.RaceResult.position.is_not(None))
    ).all()
    return standard.results_by_team(
        calendars.RaceResult(code, "", 0, "", "", position)
        for code, position in rows
        if position is not None
    )
