"""Customer teams, their entries in the seasons and their chassis: creating and editing a
team, listing entries and chassis (with each chassis' history), and one team with all of them and
its results."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from paddock.db import utcnow
from paddock.errors import Conflict, Invalid
from paddock.motorsport import models as orm
from paddock.motorsport.lookups import audit, find_team
from paddock.motorsport.results import list_results
from paddock.motorsport.schemas import ChassisRead, EntryRead, TeamRead
from paddock.unit_of_work import run_write

TEAM_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def list_teams(session: Session) -> list[TeamRead]:
    return [_team_read(t) for t in session.scalars(select(orm.CustomerTeam).order_by("id"))]


def get_team(session: Session, *, team: str) -> TeamRead:
    """A team with its entries, chassis (with their history) and results."""
    row = find_team(session, team)
    read = _team_read(row)
    read.entries = list_entries(session, team=row.code)
    read.chassis = [c for c in list_chassis(session) if c.team == row.code]
    read.results = list_results(session, team=row.code)
    return read


def create_team(
    session: Session,
    *,
    code: str,
    name: str,
    base_region: str,
    country: str = "",
    priority: int = 1,
    notes: str = "",
    actor: str,
    now: datetime | None = None,
) -> TeamRead:
    """A new customer team (its first car is a 'new team' request)."""
    now = now or utcnow()
    code = code.strip().lower()
    if not TEAM_CODE.match(code):
        raise Invalid(f"'{code}' is not a team code: lower-case letters, digits and dashes.")
    if priority < 0:
        raise Invalid("A team's priority is 0 or more.")

    def write() -> TeamRead:
        if session.scalar(select(orm.CustomerTeam.id).where(orm.CustomerTeam.code == code)):
            raise Conflict(f"A team with code '{code}' already exists.")
        row = orm.CustomerTeam(
            code=code,
            name=name.strip(),
            base_region=base_region.strip(),
            country=country.strip(),
            priority=priority,
            notes=notes,
        )
        session.add(row)
        session.flush()
        audit(session, actor, "customer_team", row.id, "created", now, code=code)
        return _team_read(row)

    return run_write(session, write)


def update_team(
    session: Session,
    *,
    team: str,
    name: str | None = None,
    base_region: str | None = None,
    priority: int | None = None,
    notes: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> TeamRead:
    now = now or utcnow()
    if priority is not None and priority < 0:
        raise Invalid("A team's priority is 0 or more.")

    def write() -> TeamRead:
        row = find_team(session, team)
        changes = {
            k: v
            for k, v in {
                "name": name,
                "base_region": base_region,
                "priority": priority,
                "notes": notes,
            }.items()
            if v is not None
        }
        for key, value in changes.items():
            setattr(row, key, value)
        audit(session, actor, "customer_team", row.id, "updated", now, **changes)
        return _team_read(row)

    return run_write(session, write)


def _team_read(row: orm.CustomerTeam) -> TeamRead:
    return TeamRead.of(row)


def list_entries(
    session: Session, *, year: int | None = None, team: str | None = None
) -> list[EntryRead]:
    query = (
        select(orm.TeamEntry)
        .join(orm.Season, orm.Season.id == orm.TeamEntry.season_id)
        .join(orm.CustomerTeam, orm.CustomerTeam.id == orm.TeamEntry.team_id)
        .options(
            selectinload(orm.TeamEntry.team),
            selectinload(orm.TeamEntry.season).selectinload(orm.Season.championship),
            selectinload(orm.TeamEntry.chassis),
        )
        .order_by(orm.Season.year, orm.TeamEntry.id)
    )
    if year is not None:
        query = query.where(orm.Season.year == year)
    if team:
        query = query.where(orm.CustomerTeam.code == team)
    entries = session.scalars(query).all()
    codes = dict(
        session.execute(
            select(orm.SupportRequest.id, orm.SupportRequest.code).where(
                orm.SupportRequest.id.in_([e.request_id for e in entries if e.request_id])
            )
        ).all()
    )
    return [
        EntryRead.of(
            e,
            team=e.team.code,
            team_name=e.team.name,
            championship=e.season.championship.code,
            season=e.season.year,
            chassis=e.chassis.serial if e.chassis else None,
            request=codes.get(e.request_id) if e.request_id else None,
        )
        for e in entries
    ]


def list_chassis(session: Session) -> list[ChassisRead]:
    """Every chassis with its history: delivery, then each season it was entered."""
    rows = session.scalars(
        select(orm.Chassis).options(selectinload(orm.Chassis.team)).order_by(orm.Chassis.serial)
    ).all()
    history: dict[int, list[str]] = {}
    for entry in session.scalars(
        select(orm.TeamEntry)
        .options(selectinload(orm.TeamEntry.season).selectinload(orm.Season.championship))
        .where(orm.TeamEntry.chassis_id.is_not(None))
        .order_by(orm.TeamEntry.id)
    ):
        season = entry.season
        what = f"#{entry.car_number}" if entry.car_number else "spare"
        history.setdefault(entry.chassis_id or 0, []).append(
            f"{season.championship.code} {season.year} {what}"
        )
    return [
        ChassisRead.of(c, team=c.team.code if c.team else None, entries=history.get(c.id, []))
        for c in rows
    ]
