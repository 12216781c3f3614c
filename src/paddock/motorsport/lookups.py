"""Finding motorsport rows by the names people use, with errors a person can read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from paddock.audit.service import record
from paddock.errors import Invalid, NotFound
from paddock.motorsport import models as orm
from paddock.motorsport.engine.standard import RequestKind

# What people type for a request kind.
KIND_ALIASES: dict[str, RequestKind] = {
    "new-team": RequestKind.NEW_TEAM,
    "new_team": RequestKind.NEW_TEAM,
    "first-car": RequestKind.NEW_TEAM,
    "additional-car": RequestKind.ADDITIONAL_CAR,
    "additional_car": RequestKind.ADDITIONAL_CAR,
    "second-car": RequestKind.ADDITIONAL_CAR,
    "extra-car": RequestKind.ADDITIONAL_CAR,
    "spare": RequestKind.SPARE_CAR,
    "spare-car": RequestKind.SPARE_CAR,
    "spare_car": RequestKind.SPARE_CAR,
}


def parse_kind(text: str) -> RequestKind:
    kind = KIND_ALIASES.get(text.strip().lower())
    if kind is None:
        raise Invalid(
            f"'{text}' is not a request kind; use new-team, second-car (additional-car) "
            "or spare-car."
        )
    return kind


def find_team(session: Session, team: str) -> orm.CustomerTeam:
    """By code, else by name (exact, then a unique partial match), case-insensitive."""
    wanted = team.strip().lower()
    rows = session.scalars(select(orm.CustomerTeam).order_by(orm.CustomerTeam.id)).all()
    for row in rows:
        if row.code.lower() == wanted or row.name.lower() == wanted:
            return row
    partial = [r for r in rows if wanted and wanted in r.name.lower()]
    if len(partial) == 1:
        return partial[0]
    known = ", ".join(f"{r.name} ({r.code})" for r in rows) or "none yet"
    if len(partial) > 1:
        raise Invalid(f"'{team}' matches several teams: {', '.join(r.code for r in partial)}.")
    raise NotFound(f"No customer team '{team}'. Teams: {known}.")


def find_championship(session: Session, code: str) -> orm.Championship:
    wanted = code.strip().lower()
    rows = session.scalars(select(orm.Championship).order_by(orm.Championship.id)).all()
    for row in rows:
        if row.code.lower() == wanted or row.name.lower() == wanted:
            return row
    known = ", ".join(r.code for r in rows) or "none yet"
    raise NotFound(f"No championship '{code}'. Championships: {known}.")


def find_season(session: Session, championship: str, year: int) -> orm.Season:
    series = find_championship(session, championship)
    season = session.scalar(
        select(orm.Season).where(orm.Season.championship_id == series.id, orm.Season.year == year)
    )
    if season is None:
        raise NotFound(f"No {series.code} {year} season; import its calendar first.")
    return season


def find_event(session: Session, season: orm.Season, event: str) -> orm.RaceEvent:
    """By code, short name or round name within the season (case-insensitive)."""
    wanted = event.strip().lower()
    rows = session.scalars(
        select(orm.RaceEvent)
        .where(orm.RaceEvent.season_id == season.id)
        .order_by(orm.RaceEvent.race_start_date)
    ).all()
    for attribute in ("code", "short_name", "round_name"):
        for row in rows:
            if str(getattr(row, attribute)).lower() == wanted:
                return row
    names = ", ".join(r.short_name or r.round_name for r in rows) or "no events"
    raise NotFound(f"No event '{event}' in that season ({names}).")


def find_entry(session: Session, season: orm.Season, car_number: str) -> orm.TeamEntry:
    entry = session.scalar(
        select(orm.TeamEntry).where(
            orm.TeamEntry.season_id == season.id,
            func.upper(orm.TeamEntry.car_number) == car_number.strip().upper(),
        )
    )
    if entry is None:
        raise NotFound(f"No car #{car_number} entered in that season.")
    return entry


def find_request(session: Session, code: str) -> orm.SupportRequest:
    """With its team, season and championship loaded in the same query."""
    row = session.scalar(
        select(orm.SupportRequest)
        .options(
            joinedload(orm.SupportRequest.team),
            joinedload(orm.SupportRequest.season).joinedload(orm.Season.championship),
        )
        .where(orm.SupportRequest.code == code)
    )
    if row is None:
        raise NotFound(f"No support request '{code}'.")
    return row


def audit(
    session: Session,
    actor: str,
    subject: str,
    subject_id: int,
    action: str,
    now: datetime,
    **data: Any,
) -> None:
    """Through the one audit writer: `actor` is the caller as the interface authenticated it."""
    record(
        session,
        actor=actor,
        subject_kind=subject,
        subject_id=subject_id,
        action=action,
        at=now,
        **data,
    )
