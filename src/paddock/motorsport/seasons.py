"""Championships, seasons and calendars: reading them, and importing a season from CSV/ICS."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from paddock import csv_files
from paddock.db import utcnow
from paddock.errors import Conflict, Invalid
from paddock.motorsport import models as orm
from paddock.motorsport.context import to_event
from paddock.motorsport.engine import calendars
from paddock.motorsport.lookups import audit, find_championship
from paddock.motorsport.schemas import ChampionshipRead, EventRead, ImportRead, SeasonRead
from paddock.unit_of_work import run_write


def list_championships(session: Session) -> list[ChampionshipRead]:
    rows = session.scalars(
        select(orm.Championship)
        .options(selectinload(orm.Championship.seasons))
        .order_by(orm.Championship.id)
    ).all()
    return [ChampionshipRead.of(c, seasons=[s.year for s in c.seasons]) for c in rows]


def season_calendar(
    session: Session, *, year: int, championship: str | None = None
) -> list[EventRead]:
    """The year's events in date order (every series, or one), each with the other series'
    events whose race weeks overlap it: those weekends need separate crews."""
    query = (
        select(orm.RaceEvent, orm.Championship.code)
        .join(orm.Season, orm.Season.id == orm.RaceEvent.season_id)
        .join(orm.Championship, orm.Championship.id == orm.Season.championship_id)
        .where(orm.Season.year == year)
        .order_by(orm.RaceEvent.race_start_date, orm.Championship.code)
    )
    rows = session.execute(query).all()
    if championship:
        find_championship(session, championship)
    reads = [event_read(to_event(row, code, year), code=row.code) for row, code in rows]
    for read in reads:
        read.clashes_with = [
            f"{other.championship} {other.name}"
            for other in reads
            if other.championship != read.championship
            and other.race_week_start_date <= read.race_week_end_date
            and other.race_week_end_date >= read.race_week_start_date
        ]
    if championship:
        reads = [r for r in reads if r.championship.lower() == championship.lower()]
    return reads


def event_read(event: calendars.CalendarEvent, *, code: str | None = None) -> EventRead:
    """An event as read (`code`: the stored one, which the calendar's name gave it)."""
    return EventRead.of(event, code=code or event.code)


def add_events(
    session: Session, season: orm.Season, events: Sequence[calendars.CalendarEvent]
) -> None:
    """Insert a season's events (no transaction of its own: the caller owns it)."""
    session.add_all(
        orm.RaceEvent(
            season_id=season.id,
            code=e.code,
            round_name=e.round_name,
            short_name=e.short_name,
            venue=e.venue,
            country=e.country,
            region=e.region,
            race_start_date=e.race_start_date,
            race_end_date=e.race_end_date,
            setup_days=e.setup_days,
            travel_days=e.travel_days,
            is_test=e.is_test,
            flyaway=e.flyaway,
        )
        for e in events
    )


def import_season(
    session: Session,
    *,
    data: str | bytes,
    fmt: str,
    championship: str | None = None,
    year: int | None = None,
    replace: bool = False,
    actor: str = "import",
    now: datetime | None = None,
) -> ImportRead:
    """Import one or more seasons' calendars from CSV (championship and season per line) or
    ICS (one championship, given). All or nothing: any bad line and nothing is written; every
    bad line is reported. A season that already has events is replaced only when asked, and
    never when results or deliveries point at its events."""
    now = now or utcnow()
    fmt = fmt.lower().lstrip(".")
    try:
        if fmt == "csv":
            text = csv_files.decode(data, what="The calendar file")
            events = calendars.parse_season_csv(csv_files.checked(text, what="The calendar file"))
        elif fmt in ("ics", "ical", "icalendar"):
            if not championship:
                raise Invalid("An iCalendar file needs the championship it belongs to.")
            events = calendars.parse_season_ics(
                data, championship=find_championship(session, championship).code, season=year
            )
        else:
            raise Invalid(f"Unknown calendar format '{fmt}': use csv or ics.")
    except calendars.CalendarImportError as error:
        raise Invalid(
            f"The calendar file has {len(error.errors)} error(s): {error}", errors=error.errors
        ) from None
    except UnicodeDecodeError:
        raise Invalid("The calendar file is not UTF-8 text.") from None
    if not events:
        raise Invalid("The calendar file has no events.")

    def write() -> ImportRead:
        by_season: dict[tuple[str, int], list[calendars.CalendarEvent]] = defaultdict(list)
        errors = []
        known = {c.code.lower(): c for c in session.scalars(select(orm.Championship))}
        for event in events:
            series = known.get(event.championship.lower())
            if series is None:
                errors.append(
                    f"{event.round_name}: unknown championship '{event.championship}' "
                    f"(known: {', '.join(c.code for c in known.values())})"
                )
                continue
            by_season[(series.code, event.season)].append(event)
        for (code, season_year), season_events in by_season.items():
            seen: set[str] = set()
            for event in season_events:
                if event.code in seen:
                    errors.append(f"{code} {season_year}: two rounds named '{event.name}'")
                seen.add(event.code)
        if errors:
            raise Invalid("; ".join(errors), errors=errors)
        seasons, replaced = [], 0
        for (code, season_year), season_events in sorted(by_season.items()):
            season = _season(session, known[code.lower()], season_year)
            existing = session.scalar(
                select(func.count())
                .select_from(orm.RaceEvent)
                .where(orm.RaceEvent.season_id == season.id)
            )
            if existing:
                if not replace:
                    raise Conflict(
                        f"{code} {season_year} already has {existing} event(s); import with "
                        "replace to swap its calendar."
                    )
                _refuse_if_used(session, season, f"{code} {season_year}")
                session.execute(delete(orm.RaceEvent).where(orm.RaceEvent.season_id == season.id))
                replaced += int(existing)
            session.flush()
            clash = session.scalar(
                select(orm.RaceEvent.code).where(
                    orm.RaceEvent.code.in_([e.code for e in season_events])
                )
            )
            if clash:
                raise Conflict(f"An event with code '{clash}' already exists elsewhere.")
            add_events(session, season, season_events)
            season.calendar_source = "ics" if fmt != "csv" else "csv"
            season.calendar_updated_at = now
            session.flush()
            audit(
                session,
                actor,
                "season",
                season.id,
                "calendar_imported",
                now,
                events=len(season_events),
                replaced=int(existing or 0),
                format=fmt,
            )
            seasons.append(
                SeasonRead(
                    championship=code,
                    year=season_year,
                    calendar_source=season.calendar_source,
                    events=[event_read(e) for e in season_events],
                )
            )
        return ImportRead(seasons=seasons, events=len(events), replaced=replaced)

    return run_write(session, write)


def _season(session: Session, series: orm.Championship, year: int) -> orm.Season:
    season = session.scalar(
        select(orm.Season).where(orm.Season.championship_id == series.id, orm.Season.year == year)
    )
    if season is None:
        season = orm.Season(championship_id=series.id, year=year, calendar_source="manual")
        session.add(season)
        session.flush()
    return season


def _refuse_if_used(session: Session, season: orm.Season, name: str) -> None:
    event_ids = select(orm.RaceEvent.id).where(orm.RaceEvent.season_id == season.id)
    used = session.scalar(
        select(func.count())
        .select_from(orm.RaceResult)
        .where(orm.RaceResult.event_id.in_(event_ids))
    ) or session.scalar(
        select(func.count())
        .select_from(orm.SupportDelivery)
        .where(orm.SupportDelivery.event_id.in_(event_ids))
    )
    if used:
        raise Conflict(
            f"{name} has results or recorded support at its events; its calendar cannot be "
            "replaced."
        )
