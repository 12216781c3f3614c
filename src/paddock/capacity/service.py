"""Capacity use cases on the database: load unit timelines, find slots, allocate and release.

These functions run inside the caller's transaction (the booking, the dealer place, the race
entry own it); they never commit.
"""

from __future__ import annotations

import random
import threading
import time as clock
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    DateTime,
    Executable,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    column,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from paddock.capacity import engine
from paddock.capacity.engine import Demand, Pick, Shortfall, Slot, UnitTimeline
from paddock.capacity.models import Allocation, Block, SiteHours, Unit, UnitShift, pool_membership
from paddock.db import UTCDateTime
from paddock.errors import Busy, SoldOut

Weekly = dict[int, list[tuple[time, time]]]
WeeklyKey = tuple[tuple[int, tuple[tuple[time, time], ...]], ...]


@dataclass(frozen=True)
class SiteClock:
    site_id: int
    zone: ZoneInfo
    opening: Weekly

    @cached_property
    def opening_key(self) -> WeeklyKey:
        return weekly_key(self.opening)


@dataclass(frozen=True)
class _StaticUnits:
    members: dict[int, list[tuple[int, str, int]]]  # pool -> (unit, label, usage)
    shifts: dict[int, Weekly]
    loaded_at: float
    # Each unit once, with the index of its weekly working pattern in `patterns`.
    units: tuple[tuple[int, str, int, int], ...] = ()
    # The distinct weekly shifts of these units (None: the site's opening hours).
    patterns: tuple[WeeklyKey | None, ...] = ()


class AllocationConflict(Exception):
    """A concurrent writer took a unit we chose: re-read and choose again."""


_CACHE_SECONDS = 5.0
_static_cache: dict[tuple[int, tuple[int, ...]], _StaticUnits] = {}
_site_cache: dict[int, tuple[SiteClock, float]] = {}
_cache_lock = threading.Lock()


def invalidate_cache() -> None:
    """Forget cached units and hours (call after changing pools, units, shifts or hours)."""
    with _cache_lock:
        _static_cache.clear()
        _site_cache.clear()


def site_clock(session: Session, site_id: int, zone_name: str) -> SiteClock:
    with _cache_lock:
        cached = _site_cache.get(site_id)
    if cached and clock.monotonic() - cached[1] < _CACHE_SECONDS:
        return cached[0]
    opening: Weekly = defaultdict(list)
    rows = session.execute(
        select(SiteHours.weekday, SiteHours.opens_at, SiteHours.closes_at).where(
            SiteHours.site_id == site_id
        )
    )
    for weekday, opens, closes in rows:
        opening[weekday].append((opens, closes))
    result = SiteClock(site_id, ZoneInfo(zone_name), dict(opening))
    with _cache_lock:
        _site_cache[site_id] = (result, clock.monotonic())
    return result


def _static_units(session: Session, site_id: int, pool_ids: tuple[int, ...]) -> _StaticUnits:
    key = (site_id, pool_ids)
    with _cache_lock:
        cached = _static_cache.get(key)
    if cached and clock.monotonic() - cached.loaded_at < _CACHE_SECONDS:
        return cached
    members: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    rows = session.execute(
        select(pool_membership.c.pool_id, Unit.id, Unit.label, Unit.usage_minutes)
        .join(Unit, Unit.id == pool_membership.c.unit_id)
        .where(pool_membership.c.pool_id.in_(pool_ids), Unit.active.is_(True))
        .order_by(Unit.id)
    )
    unit_ids: set[int] = set()
    for pool_id, unit_id, label, usage in rows:
        members[pool_id].append((unit_id, label, usage))
        unit_ids.add(unit_id)
    shifts: dict[int, Weekly] = defaultdict(lambda: defaultdict(list))
    if unit_ids:
        for unit_id, weekday, starts, ends in session.execute(
            select(
                UnitShift.unit_id, UnitShift.weekday, UnitShift.starts_at, UnitShift.ends_at
            ).where(UnitShift.unit_id.in_(unit_ids))
        ):
            shifts[unit_id][weekday].append((starts, ends))
    shift_map = {k: dict(v) for k, v in shifts.items()}
    patterns: dict[WeeklyKey | None, int] = {}
    distinct: dict[int, tuple[int, str, int, int]] = {}
    for pool_members in members.values():
        for unit_id, label, usage in pool_members:
            pattern = weekly_key(shift_map[unit_id]) if unit_id in shift_map else None
            index = patterns.setdefault(pattern, len(patterns))
            distinct[unit_id] = (unit_id, label, usage, index)
    result = _StaticUnits(
        dict(members), shift_map, clock.monotonic(), tuple(distinct.values()), tuple(patterns)
    )
    with _cache_lock:
        _static_cache[key] = result
    return result


def weekly_key(weekly: Weekly) -> WeeklyKey:
    return tuple(sorted((day, tuple(sorted(spans))) for day, spans in weekly.items()))


@lru_cache(maxsize=4096)
def _working(
    zone: str, weekly: WeeklyKey, local_from: date, local_to: date
) -> list[engine.Interval]:
    """Working time of every unit with the same weekly hours, computed once per window: a
    booking looks at a hundred units but they share a handful of shift patterns."""
    return engine.local_intervals(
        local_from, local_to, {day: list(spans) for day, spans in weekly}, ZoneInfo(zone)
    )


_allocation = cast(Table, Allocation.__table__)
_block = cast(Table, Block.__table__)
_members = select(pool_membership.c.unit_id).where(
    pool_membership.c.pool_id.in_(bindparam("pool_ids", expanding=True))
)


def _busy_statement(dialect: str) -> Executable:
    """Blocks and active allocations of the pools' units overlapping [start, end): one query.
    On PostgreSQL the allocation overlap is written as a range test so that the exclusion
    constraint's GiST index answers it without scanning each unit's history."""
    start = bindparam("start", type_=UTCDateTime())
    end = bindparam("end", type_=UTCDateTime())
    overlaps: ColumnElement[bool]
    if dialect == "postgresql":
        overlaps = func.tstzrange(_allocation.c.starts_at, _allocation.c.ends_at).op("&&")(
            func.tstzrange(start, end)
        )
    else:
        overlaps = and_(_allocation.c.starts_at < end, _allocation.c.ends_at > start)
    blocks = select(
        literal(0).label("source"),
        type_coerce(null(), Integer).label("id"),
        _block.c.unit_id,
        _block.c.starts_at,
        _block.c.ends_at,
        # Typed, so that SQLite's rows come back as instants in both halves of the union.
        type_coerce(null(), UTCDateTime()).label("expires_at"),
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
        _allocation.c.starts_at,
        _allocation.c.ends_at,
        _allocation.c.expires_at,
    ).where(_allocation.c.unit_id.in_(_members), _allocation.c.active == true(), overlaps)
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
    static = _static_units(session, site.site_id, pools)
    start, end = window
    local_from = start.astimezone(site.zone).date() - timedelta(days=1)
    local_to = end.astimezone(site.zone).date()
    zone = str(site.zone)
    # Units with the same weekly hours share one (read-only) list of working intervals.
    working = [
        _working(zone, pattern or site.opening_key, local_from, local_to)
        for pattern in static.patterns
    ]
    timelines: dict[int, UnitTimeline] = {
        unit_id: UnitTimeline(unit_id, label, usage, working[pattern])
        for unit_id, label, usage, pattern in static.units
    }
    lapsed: list[int] = []
    if timelines:
        connection = session.connection()
        rows = connection.execute(
            _BUSY[_dialect(connection)],
            {"site_id": site.site_id, "pool_ids": pools, "start": start, "end": end},
        ).all()  # all at once: a month of a busy site is thousands of rows
        busy = {unit_id: timeline.busy for unit_id, timeline in timelines.items()}
        for source, alloc_id, unit_id, b_start, b_end, expires_at in rows:
            if unit_id in busy:
                if expires_at is not None and expires_at <= now:
                    lapsed.append(alloc_id)
                else:
                    busy[unit_id].append((b_start, b_end))
            elif source == 0 and unit_id is None:  # a closure of the whole site
                for spans in busy.values():
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
    return start in engine.slot_grid(local_day, local_day, site.opening, site.zone, step, duration)


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
    """Give the engagement concrete units for every demand, or raise SoldOut with the
    shortfalls. On PostgreSQL a concurrent winner surfaces as AllocationConflict."""
    admission = admit(session, site, demands=demands, start=start, now=now)
    record(
        session,
        admission.picks,
        lapsed=admission.lapsed,
        engagement_kind=engagement_kind,
        engagement_id=engagement_id,
        expires_at=expires_at,
    )
    return admission.picks


@dataclass(frozen=True)
class Admission:
    """Units chosen for an engagement, not yet written; and lapsed holds in the way."""

    picks: list[Pick]
    lapsed: list[int]


def admit(
    session: Session, site: SiteClock, *, demands: Sequence[Demand], start: datetime, now: datetime
) -> Admission:
    """Read the pools' units around the start and choose one for every demand (one query),
    or raise SoldOut with the shortfalls. Nothing is written: see record()."""
    # Offsets may be negative: a dealer's monthly place starts before the drive does.
    window = (
        start + min(d.offset for d in demands),
        start + max(d.offset + d.duration for d in demands),
    )
    by_pool, lapsed = load_timelines(session, site, [d.pool_id for d in demands], window, now)
    picks, shortfalls = engine.choose_units(start, demands, by_pool, rng=_rng)
    if shortfalls:
        raise sold_out(shortfalls)
    return Admission(picks, lapsed)


_rng = random.Random()


def record(
    session: Session,
    picks: Sequence[Pick],
    *,
    lapsed: Sequence[int] = (),
    engagement_kind: str,
    engagement_id: int,
    expires_at: datetime | None,
) -> None:
    """Write the chosen units as active allocations in one statement.

    Rows go in unit order, so two writers never wait on each other in a cycle. On PostgreSQL
    a row that collides with a concurrent writer's is skipped (ON CONFLICT DO NOTHING, which
    waits for that writer without the deadlocks a plain exclusion check can run into) and
    the whole attempt is retried with fresh data: AllocationConflict."""
    connection = session.connection()
    switch_off(session, lapsed)
    rows = allocation_rows(picks, engagement_kind, engagement_id, expires_at)
    if not rows:
        return
    try:
        written = connection.execute(_INSERT[_dialect(connection)], rows).all()
    except IntegrityError as exc:
        if _sqlstate(exc) == "23P01":
            raise AllocationConflict() from exc
        raise
    if len(written) != len(rows):
        raise AllocationConflict()


# One INSERT ... VALUES (...), (...) RETURNING id for all rows (SQLAlchemy's insertmanyvalues).
_INSERT: dict[str, Executable] = {
    "postgresql": pg_insert(_allocation).on_conflict_do_nothing().returning(_allocation.c.id),
    "sqlite": insert(_allocation).returning(_allocation.c.id),
}


def switch_off(session: Session, lapsed: Sequence[int]) -> None:
    """Expired holds still count for the exclusion constraint until switched off."""
    if lapsed:
        session.connection().execute(
            update(_allocation).where(_allocation.c.id.in_(lapsed)).values(active=False)
        )


def insert_allocations_of(engagement: CTE) -> CTE:
    """PostgreSQL: an INSERT of the picked units for the engagement row that `engagement` (a
    CTE of an INSERT ... RETURNING id) writes, so that the engagement and its allocations
    take one round trip. Rows go in unit order and conflicts are skipped, as in record(); the
    CTE returns the allocation ids, to be counted against the picks. Parameters: see
    allocation_parameters()."""
    picked = (
        func.unnest(
            bindparam("alloc_unit_ids", type_=ARRAY(Integer)),
            bindparam("alloc_pool_ids", type_=ARRAY(Integer)),
            bindparam("alloc_starts", type_=ARRAY(DateTime(timezone=True))),
            bindparam("alloc_ends", type_=ARRAY(DateTime(timezone=True))),
        )
        .table_valued(
            column("unit_id", Integer),
            column("pool_id", Integer),
            column("starts_at", DateTime(timezone=True)),
            column("ends_at", DateTime(timezone=True)),
        )
        .render_derived(name="picked")
    )
    rows = (
        select(
            bindparam("alloc_kind", type_=String()),
            engagement.c.id,
            picked.c.unit_id,
            picked.c.pool_id,
            picked.c.starts_at,
            picked.c.ends_at,
            true(),
            bindparam("alloc_expires_at", type_=UTCDateTime()),
        )
        .select_from(engagement)
        .join(picked, true())
        .order_by(picked.c.unit_id, picked.c.starts_at)
    )
    columns = ["engagement_kind", "engagement_id", "unit_id", "pool_id"]
    columns += ["starts_at", "ends_at", "active", "expires_at"]
    return (
        pg_insert(_allocation)
        .from_select(columns, rows)
        .on_conflict_do_nothing()
        .returning(_allocation.c.id)
        .cte("new_allocations")
    )


def allocation_parameters(
    picks: Sequence[Pick], engagement_kind: str, expires_at: datetime | None
) -> dict[str, Any]:
    """The parameters of insert_allocations_of()."""
    ordered = sorted(picks, key=lambda p: (p.unit_id, p.starts_at))
    return {
        "alloc_kind": engagement_kind,
        "alloc_unit_ids": [p.unit_id for p in ordered],
        "alloc_pool_ids": [p.demand.pool_id for p in ordered],
        "alloc_starts": [p.starts_at for p in ordered],
        "alloc_ends": [p.ends_at for p in ordered],
        "alloc_expires_at": expires_at,
    }


def allocation_rows(
    picks: Sequence[Pick], engagement_kind: str, engagement_id: int, expires_at: datetime | None
) -> list[dict[str, Any]]:
    return [
        {
            "engagement_kind": engagement_kind,
            "engagement_id": engagement_id,
            "unit_id": p.unit_id,
            "pool_id": p.demand.pool_id,
            "starts_at": p.starts_at,
            "ends_at": p.ends_at,
            "active": True,
            "expires_at": expires_at,
        }
        for p in sorted(picks, key=lambda p: (p.unit_id, p.starts_at))
    ]


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


def sold_out(shortfalls: Sequence[Shortfall]) -> SoldOut:
    first = shortfalls[0]
    return SoldOut(
        "Not enough capacity: " + "; ".join(s.describe() for s in shortfalls),
        shortfalls=[
            {
                "pool": s.pool_code,
                "pool_name": s.pool_name,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "needed": s.needed,
                "free": s.free,
                "missing": s.missing,
            }
            for s in shortfalls
        ],
        binding_pool=first.pool_code,
    )


def is_busy_error(exc: BaseException) -> bool:
    """Lock waits that ran out: answer 'busy, retry' rather than 'sold out' or a 500."""
    if isinstance(exc, OperationalError) and "database is locked" in str(exc):
        return True
    return isinstance(exc, DBAPIError) and _sqlstate(exc) in {"55P03", "40P01", "40001"}


def busy() -> Busy:
    return Busy("Another booking is being written for these resources; please retry.")


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
