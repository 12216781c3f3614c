"""Capacity use cases on the database: load unit timelines, find slots, allocate and release.

These functions run inside the caller's transaction (the booking, the dealer place, the race
entry own it); they never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Executable,
    Integer,
    String,
    Table,
    and_,
    any_,
    bindparam,
    extract,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from paddock.capacity import claims, engine, units
from paddock.capacity.claims import sold_out as sold_out
from paddock.capacity.engine import Demand, Pick, Slot, UnitTimeline
from paddock.capacity.models import Allocation, Block, Unit, pool_membership
from paddock.capacity.units import SiteClock as SiteClock
from paddock.capacity.units import site_clock as site_clock
from paddock.capacity.units import static_units, working_time
from paddock.db import UTCDateTime
from paddock.db import is_busy_error as is_busy_error
from paddock.db import is_deadlock as is_deadlock
from paddock.errors import Busy


def invalidate_cache() -> None:
    """Forget cached units, hours and busy hints (call after changing pools, units, shifts or
    hours)."""
    units.invalidate_cache()
    claims.hints.clear()


class AllocationConflict(Exception):
    """A concurrent writer took a unit we chose: re-read and choose again."""


_allocation = cast(Table, Allocation.__table__)
_block = cast(Table, Block.__table__)
_members = select(pool_membership.c.unit_id).where(
    pool_membership.c.pool_id.in_(bindparam("pool_ids", expanding=True))
)


def _instant(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """An instant column as read for busy time: PostgreSQL computes whole microseconds since
    the epoch (EXTRACT is numeric, exact, since 14); SQLite hands back its stored text, which
    `_micros` parses in one numpy call (strftime per row costs SQLite more than that)."""
    if dialect == "postgresql":
        return sql_cast(extract("epoch", column) * literal_column("1000000"), BigInteger)
    return type_coerce(column, String)


def _no_instant(dialect: str) -> ColumnElement[Any]:
    return sql_cast(null(), BigInteger) if dialect == "postgresql" else type_coerce(null(), String)


def _micros(values: list[Any], dialect: str) -> list[int]:
    """`_instant` values as epoch microseconds (engine.Span)."""
    if dialect == "postgresql" or not values:
        return values
    try:
        parsed: list[int] = np.array(values, dtype="datetime64[us]").astype(np.int64).tolist()
        return parsed
    except ValueError:  # a form other than SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff'
        return [engine.micros(UTCDateTime.from_sqlite(v)) for v in values]


def _busy_statement(dialect: str) -> Executable:
    """Blocks and active allocations of the pools' units overlapping [start, end): one query,
    their times read as `_instant` says. Allocations are found per unit from its first one
    ending after the start (active allocations of a unit never overlap, so those are in start
    order too), without reading the unit's history."""
    start = bindparam("start", type_=UTCDateTime())
    end = bindparam("end", type_=UTCDateTime())
    overlaps: ColumnElement[bool]
    in_pools: ColumnElement[bool] = _allocation.c.unit_id.in_(_members)
    if dialect == "postgresql":
        # Each unit's first allocations ending after the start, from the b-tree on (unit,
        # end, start): the units as one array, so the planner seeks per unit. (The GiST
        # range search found every unit's allocations of the month and joined them to the
        # pools afterwards: 4.4 ms against 2.1 on the demo world.)
        members = select(func.array_agg(pool_membership.c.unit_id)).where(
            pool_membership.c.pool_id.in_(bindparam("pool_ids", expanding=True))
        )
        in_pools = _allocation.c.unit_id == any_(
            sql_cast(members.scalar_subquery(), ARRAY(Integer))
        )
        overlaps = and_(_allocation.c.starts_at < end, _allocation.c.ends_at > start)
    else:
        # A bare `active` term lets SQLite use the partial index of active rows on (unit, end):
        # a seek past the window's start instead of each unit's whole history.
        overlaps = and_(
            literal_column("allocation.active"),
            _allocation.c.starts_at < end,
            _allocation.c.ends_at > start,
        )
    blocks = select(
        literal(0).label("source"),
        type_coerce(null(), Integer).label("id"),
        _block.c.unit_id,
        _instant(_block.c.starts_at, dialect).label("starts"),
        _instant(_block.c.ends_at, dialect).label("ends"),
        _no_instant(dialect).label("expires"),
    ).where(
        _block.c.site_id == bindparam("site_id"),
        or_(_block.c.unit_id.in_(_members), _block.c.unit_id.is_(None)),
        _block.c.starts_at < end,
        _block.c.ends_at > start,
    )
    allocations = select(
        literal(1),
        _allocation.c.id,
        _allocation.c.unit_id,
        _instant(_allocation.c.starts_at, dialect),
        _instant(_allocation.c.ends_at, dialect),
        _instant(_allocation.c.expires_at, dialect),
    ).where(in_pools, _allocation.c.active == true(), overlaps)
    return union_all(blocks, allocations)


_BUSY = {name: _busy_statement(name) for name in ("postgresql", "sqlite")}


def load_timelines(
    session: Session,
    site: SiteClock,
    pool_ids: Iterable[int],
    window: tuple[datetime, datetime],
    now: datetime,
) -> tuple[dict[int, list[UnitTimeline]], list[int]]:
    """Each pool's units with working time, blocks and live allocations inside the window.
    Also returns allocations that are active but lapsed (expired holds) in the window."""
    pools = tuple(sorted(set(pool_ids)))
    static = static_units(session, site.site_id, pools)
    start, end = window
    local_from = start.astimezone(site.zone).date() - timedelta(days=1)
    local_to = end.astimezone(site.zone).date()
    zone = str(site.zone)
    # Units with the same weekly hours share one (read-only) list of working intervals.
    working = [
        working_time(zone, pattern or site.opening_key, local_from, local_to)
        for pattern in static.patterns
    ]
    timelines: dict[int, UnitTimeline] = {
        unit_id: UnitTimeline(unit_id, label, usage, working[pattern])
        for unit_id, label, usage, pattern in static.units
    }
    lapsed: list[int] = []
    if timelines:
        connection = session.connection()
        dialect = _dialect(connection)
        rows = connection.execute(
            _BUSY[dialect],
            {"site_id": site.site_id, "pool_ids": pools, "start": start, "end": end},
        ).all()  # all at once: a month of a busy site is thousands of rows
        starts = _micros([row[3] for row in rows], dialect)
        ends = _micros([row[4] for row in rows], dialect)
        busy = {unit_id: timeline.busy for unit_id, timeline in timelines.items()}
        now_us = engine.micros(now)
        for (source, alloc_id, unit_id, _, _, expires), b_start, b_end in zip(
            rows, starts, ends, strict=True
        ):
            if unit_id in busy:
                if expires is not None and _micros([expires], dialect)[0] <= now_us:
                    lapsed.append(alloc_id)
                else:
                    busy[unit_id].append((b_start, b_end))
            elif source == 0 and unit_id is None:  # a closure of the whole site
                for closed, spans in busy.items():
                    if closed not in static.not_resources:
                        spans.append((b_start, b_end))
            # else: a unit switched off since the units were cached
    by_pool = {
        pool_id: [timelines[unit_id] for unit_id, _, _ in members]
        for pool_id, members in static.members.items()
    }
    return by_pool, lapsed


def _dialect(connection: Connection) -> str:
    return "postgresql" if connection.dialect.name == "postgresql" else "sqlite"


def slots(
    session: Session,
    site: SiteClock,
    demands: Sequence[Demand],
    duration: timedelta,
    step: timedelta,
    day_from: date,
    day_to: date,
    now: datetime,
) -> list[Slot]:
    """Start times in the local days given, each with how many more engagements fit."""
    starts = [
        s
        for s in engine.slot_grid(day_from, day_to, site.opening, site.zone, step, duration)
        if s >= now
    ]
    if not starts:
        return []
    reach = max((d.offset + d.duration for d in demands), default=duration)
    lead = min((d.offset for d in demands), default=timedelta(0))
    window = (starts[0] + min(lead, timedelta(0)), starts[-1] + max(reach, duration))
    by_pool, _ = load_timelines(session, site, [d.pool_id for d in demands], window, now)
    return engine.availability(starts, duration, demands, by_pool, window)


def is_on_grid(site: SiteClock, start: datetime, duration: timedelta, step: timedelta) -> bool:
    local_day = start.astimezone(site.zone).date()
    return start in _day_grid(str(site.zone), site.opening_key, local_day, step, duration)


@lru_cache(maxsize=4096)
def _day_grid(
    zone: str, weekly: units.WeeklyKey, local_day: date, step: timedelta, duration: timedelta
) -> frozenset[datetime]:
    """A local day's start times, for these opening hours (new hours, a new key)."""
    opening = {day: list(spans) for day, spans in weekly}
    grid = engine.slot_grid(local_day, local_day, opening, ZoneInfo(zone), step, duration)
    return frozenset(grid)


def allocate(
    session: Session,
    site: SiteClock,
    *,
    engagement_kind: str,
    engagement_id: int,
    demands: Sequence[Demand],
    start: datetime,
    now: datetime,
    expires_at: datetime | None = None,
) -> list[Pick]:
    """Inside the caller's transaction: give the engagement concrete units for every demand,
    or raise SoldOut with the shortfalls. PostgreSQL takes them in one statement; SQLite
    probes each candidate under its write lock (see claims.py)."""
    chosen = claims.claims(session, site, demands, start)
    connection = session.connection()
    if _dialect(connection) == "sqlite":
        return claims.take_on_sqlite(
            raw_cursor(session),
            chosen,
            engagement_kind=engagement_kind,
            engagement_id=engagement_id,
            expires_at=expires_at,
            now=now,
        )
    try:
        return claims.take(
            connection,
            chosen,
            engagement_kind=engagement_kind,
            engagement_id=engagement_id,
            expires_at=expires_at,
            now=now,
        )
    except DBAPIError as exc:
        detail = claims.sold_out_detail(exc.orig)
        if detail is None:
            raise
        raise sold_out(chosen.shortfalls(detail)) from exc


def insert_unless_taken(session: Session, row: dict[str, Any]) -> bool:
    """Insert one active allocation unless the unit is already taken over that time; False
    when it is. On PostgreSQL the exclusion constraint decides through ON CONFLICT DO NOTHING,
    a speculative insertion: two plain INSERTs of the same unit can deadlock (each enters its
    index entry, then waits for the other's transaction). SQLite's writer holds the write lock
    and the caller has checked."""
    if _dialect(session.connection()) == "sqlite":
        session.execute(insert(Allocation), row)
        return True
    taken = postgresql_insert(Allocation).on_conflict_do_nothing().returning(Allocation.id)
    return session.execute(taken, row).first() is not None


def raw_cursor(session: Session) -> Any:
    """A DB-API cursor on the session's connection, inside its transaction (the booking path's
    probes: a statement each, where SQLAlchemy's per-statement work would cost more)."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def release(session: Session, *, engagement_kind: str, engagement_id: int) -> int:
    result = session.execute(
        update(Allocation)
        .where(
            Allocation.engagement_kind == engagement_kind,
            Allocation.engagement_id == engagement_id,
            Allocation.active.is_(True),
        )
        .values(active=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def confirm(session: Session, *, engagement_kind: str, engagement_id: int) -> None:
    """A hold becomes firm: its allocations no longer lapse."""
    session.execute(
        update(Allocation)
        .where(
            Allocation.engagement_kind == engagement_kind,
            Allocation.engagement_id == engagement_id,
            Allocation.active.is_(True),
        )
        .values(expires_at=None)
    )


def release_lapsed(session: Session, now: datetime) -> list[tuple[str, int]]:
    """Switch off every lapsed allocation; returns the engagements that lost them."""
    rows = session.execute(
        select(Allocation.engagement_kind, Allocation.engagement_id)
        .where(Allocation.active.is_(True), Allocation.expires_at <= now)
        .distinct()
    ).all()
    session.execute(
        update(Allocation)
        .where(Allocation.active.is_(True), Allocation.expires_at <= now)
        .values(active=False)
    )
    return [(kind, ident) for kind, ident in rows]


def allocations_of(
    session: Session, engagement_kind: str, engagement_ids: Sequence[int]
) -> dict[int, list[tuple[int, int, str, datetime, datetime]]]:
    """Active allocations per engagement: (unit id, pool id, unit label, start, end)."""
    out: dict[int, list[tuple[int, int, str, datetime, datetime]]] = defaultdict(list)
    if not engagement_ids:
        return out
    rows = session.execute(
        select(
            Allocation.engagement_id,
            Allocation.unit_id,
            Allocation.pool_id,
            Unit.label,
            Allocation.starts_at,
            Allocation.ends_at,
        )
        .join(Unit, Unit.id == Allocation.unit_id)
        .where(
            Allocation.engagement_kind == engagement_kind,
            Allocation.engagement_id.in_(engagement_ids),
            Allocation.active.is_(True),
        )
        .order_by(Allocation.id)
    )
    for engagement_id, unit_id, pool_id, label, starts, ends in rows:
        out[engagement_id].append((unit_id, pool_id, label, starts, ends))
    return out


def overlapping_allocations(
    session: Session, unit_ids: Sequence[int], window: tuple[datetime, datetime]
) -> list[tuple[str, int, int]]:
    """Engagements holding any of these units inside the window: (kind, id, unit)."""
    rows = session.execute(
        select(Allocation.engagement_kind, Allocation.engagement_id, Allocation.unit_id).where(
            Allocation.unit_id.in_(unit_ids),
            Allocation.active.is_(True),
            and_(Allocation.starts_at < window[1], Allocation.ends_at > window[0]),
        )
    ).all()
    return [(k, i, u) for k, i, u in rows]


def busy() -> Busy:
    return Busy("Another booking is being written for these resources; please retry.")
