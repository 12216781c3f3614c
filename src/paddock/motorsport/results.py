"""Race results per entry, and the support delivered at each event against what the standard
promised: the service level a customer team sees."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.db import utcnow
from paddock.errors import Invalid
from paddock.motorsport import models as orm
from paddock.motorsport.context import standard_row_for, to_event, to_standard
from paddock.motorsport.engine.standard import AppliesAt, Scope, SupportStandard, kind_label
from paddock.motorsport.lookups import audit, find_entry, find_event, find_season
from paddock.motorsport.schemas import (
    DeliveryLine,
    EntryService,
    EventService,
    ResultRead,
    ServiceLevelRead,
)
from paddock.unit_of_work import run_write


@dataclass(frozen=True)
class Delivered:
    kind: str
    delivered: int
    on_time: bool = True
    note: str = ""


def record_result(
    session: Session,
    *,
    championship: str,
    year: int,
    car_number: str,
    event: str,
    position: int | None,
    note: str = "",
    actor: str,
    now: datetime | None = None,
) -> ResultRead:
    """Record (or correct) an entry's classified finish at an event."""
    now = now or utcnow()
    if position is not None and position < 1:
        raise Invalid("A finishing position starts at 1 (leave it empty if not classified).")

    def write() -> ResultRead:
        season = find_season(session, championship, year)
        entry = find_entry(session, season, car_number)
        race = find_event(session, season, event)
        row = session.scalar(
            select(orm.RaceResult).where(
                orm.RaceResult.entry_id == entry.id, orm.RaceResult.event_id == race.id
            )
        )
        if row is None:
            row = orm.RaceResult(entry_id=entry.id, event_id=race.id)
            session.add(row)
        row.position, row.note, row.recorded_at = position, note, now
        session.flush()
        audit(session, actor, "race_result", row.id, "recorded", now, position=position)
        return _result_read(session, row)

    return run_write(session, write)


def list_results(
    session: Session, *, year: int | None = None, team: str | None = None
) -> list[ResultRead]:
    query = (
        select(orm.RaceResult)
        .join(orm.RaceEvent, orm.RaceEvent.id == orm.RaceResult.event_id)
        .join(orm.TeamEntry, orm.TeamEntry.id == orm.RaceResult.entry_id)
        .join(orm.Season, orm.Season.id == orm.TeamEntry.season_id)
        .join(orm.CustomerTeam, orm.CustomerTeam.id == orm.TeamEntry.team_id)
        .order_by(orm.RaceEvent.race_start_date, orm.RaceResult.id)
    )
    if year is not None:
        query = query.where(orm.Season.year == year)
    if team:
        query = query.where(orm.CustomerTeam.code == team)
    return [_result_read(session, r) for r in session.scalars(query)]


def _result_read(session: Session, row: orm.RaceResult) -> ResultRead:
    entry, event = row.entry, row.event
    return ResultRead.of(
        row,
        team=entry.team.code,
        championship=entry.season.championship.code,
        season=entry.season.year,
        car_number=entry.car_number,
        event=event.code,
        event_name=event.short_name or event.round_name,
    )


def promised_at(
    standard: SupportStandard, entry: orm.TeamEntry, event: orm.RaceEvent, championship: str
) -> dict[str, int]:
    """What the standard promises one race car at one event, by resource kind: its race-week
    support (shared with a sister car, still promised to each) and, at a flyaway, its freight."""
    if entry.spare:
        return {}
    flyaway = to_event(event, championship, event.race_start_date.year).is_flyaway_for(
        entry.base_region
    )
    promised: dict[str, int] = {}
    for line in standard.lines:
        if line.scope is Scope.SEASON:
            continue
        if line.applies_at is AppliesAt.FLYAWAY and not flyaway:
            continue
        if line.applies_at is AppliesAt.HOME and flyaway:
            continue
        if line.scope is Scope.FREIGHT and not flyaway:
            continue
        quantity = line.quantity(1, 0)
        if quantity:
            promised[line.kind] = promised.get(line.kind, 0) + quantity
    return promised


def record_delivery(
    session: Session,
    *,
    championship: str,
    year: int,
    car_number: str,
    event: str,
    items: Sequence[Delivered],
    actor: str,
    now: datetime | None = None,
) -> EventService:
    """Record what was delivered to a car at an event, per resource kind; what was promised
    comes from the standard in force for the season. Recording again corrects."""
    now = now or utcnow()
    if not items:
        raise Invalid("Say what was delivered: at least one resource kind.")
    kinds = [i.kind for i in items]
    if len(set(kinds)) != len(kinds):
        raise Invalid("Each resource kind may appear once per event.")

    def write() -> EventService:
        season = find_season(session, championship, year)
        entry = find_entry(session, season, car_number)
        race = find_event(session, season, event)
        standard = to_standard(standard_row_for(session, year))
        promised = promised_at(standard, entry, race, season.championship.code)
        known = {line.kind for line in standard.lines}
        unknown = [i.kind for i in items if i.kind not in known]
        if unknown:
            raise Invalid(
                f"The support standard has no {', '.join(unknown)}; kinds: "
                f"{', '.join(sorted(known))}."
            )
        for item in items:
            if item.delivered < 0:
                raise Invalid(f"{kind_label(item.kind)}: delivered cannot be negative.")
            row = session.scalar(
                select(orm.SupportDelivery).where(
                    orm.SupportDelivery.entry_id == entry.id,
                    orm.SupportDelivery.event_id == race.id,
                    orm.SupportDelivery.kind == item.kind,
                )
            )
            if row is None:
                row = orm.SupportDelivery(entry_id=entry.id, event_id=race.id, kind=item.kind)
                session.add(row)
            row.promised = promised.get(item.kind, 0)
            row.delivered = item.delivered
            row.on_time = item.on_time
            row.note = item.note
            row.recorded_at = now
            row.recorded_by = actor
        session.flush()
        audit(session, actor, "team_entry", entry.id, "support_recorded", now, event=race.code)
        rows = session.scalars(
            select(orm.SupportDelivery).where(
                orm.SupportDelivery.entry_id == entry.id, orm.SupportDelivery.event_id == race.id
            )
        ).all()
        return _event_service(race, list(rows))

    return run_write(session, write)


def service_level(session: Session, *, year: int, team: str | None = None) -> ServiceLevelRead:
    """Support promised vs delivered per entry and event: fill rate (units delivered up to
    what was promised, over units promised) and on-time rate (items on time, over items)."""
    query = (
        select(orm.SupportDelivery, orm.TeamEntry)
        .join(orm.TeamEntry, orm.TeamEntry.id == orm.SupportDelivery.entry_id)
        .join(orm.Season, orm.Season.id == orm.TeamEntry.season_id)
        .join(orm.CustomerTeam, orm.CustomerTeam.id == orm.TeamEntry.team_id)
        .where(orm.Season.year == year)
        .order_by(orm.TeamEntry.id, orm.SupportDelivery.event_id, orm.SupportDelivery.kind)
    )
    if team:
        query = query.where(orm.CustomerTeam.code == team)
    by_entry: dict[int, dict[int, list[orm.SupportDelivery]]] = defaultdict(
        lambda: defaultdict(list)
    )
    entries: dict[int, orm.TeamEntry] = {}
    for delivery, entry in session.execute(query):
        entries[entry.id] = entry
        by_entry[entry.id][delivery.event_id].append(delivery)
    events = {
        e.id: e
        for e in session.scalars(
            select(orm.RaceEvent).where(
                orm.RaceEvent.id.in_({i for ev in by_entry.values() for i in ev})
            )
        )
    }
    reads = []
    all_rows: list[orm.SupportDelivery] = []
    for entry_id, per_event in by_entry.items():
        entry = entries[entry_id]
        event_reads = [
            _event_service(events[event_id], rows)
            for event_id, rows in sorted(
                per_event.items(), key=lambda pair: events[pair[0]].race_start_date
            )
        ]
        rows = [r for rs in per_event.values() for r in rs]
        all_rows.extend(rows)
        fill, on_time = _rates(rows)
        reads.append(
            EntryService(
                entry_id=entry.id,
                team=entry.team.code,
                team_name=entry.team.name,
                championship=entry.season.championship.code,
                car_number=entry.car_number,
                events=event_reads,
                fill_rate=fill,
                on_time_rate=on_time,
            )
        )
    fill, on_time = _rates(all_rows)
    summary = (
        f"{year}: {len(all_rows)} support item(s) recorded for {len(reads)} car(s); "
        f"{_percent(fill)} of promised support delivered, {_percent(on_time)} on time."
        if all_rows
        else f"No support deliveries recorded for {year} yet."
    )
    return ServiceLevelRead(
        year=year, entries=reads, fill_rate=fill, on_time_rate=on_time, summary=summary
    )


def _event_service(event: orm.RaceEvent, rows: list[orm.SupportDelivery]) -> EventService:
    fill, on_time = _rates(rows)
    return EventService(
        event=event.code,
        event_name=event.short_name or event.round_name,
        race_start_date=event.race_start_date,
        lines=[DeliveryLine.of(r) for r in sorted(rows, key=lambda r: r.kind)],
        fill_rate=fill,
        on_time_rate=on_time,
    )


def _rates(rows: Sequence[orm.SupportDelivery]) -> tuple[float | None, float | None]:
    promised = sum(r.promised for r in rows)
    fill = sum(min(r.delivered, r.promised) for r in rows) / promised if promised else None
    on_time = sum(1 for r in rows if r.on_time) / len(rows) if rows else None
    return (
        round(fill, 4) if fill is not None else None,
        round(on_time, 4) if on_time is not None else None,
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
