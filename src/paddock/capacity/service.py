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
from zoneinfo import ZoneInfo

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from paddock.capacity import engine
from paddock.capacity.engine import Demand, Pick, Shortfall, Slot, UnitTimeline
from paddock.capacity.models import Allocation, Block, SiteHours, Unit, UnitShift, pool_membership
from paddock.errors import Busy, SoldOut

Weekly = dict[int, list[tuple[time, time]]]


@dataclass(frozen=True)
class SiteClock:
    site_id: int
    zone: ZoneInfo
    opening: Weekly


@dataclass(frozen=True)
class _StaticUnits:
    members: dict[int, list[tuple[int, str, int]]]  # pool -> (unit, label, usage)
    shifts: dict[int, Weekly]
    loaded_at: float


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
    result = _StaticUnits(dict(members), {k: dict(v) for k, v in shifts.items()}, clock.monotonic())
    with _cache_lock:
        _static_cache[key] = result
    return result


def load_timelines(
    session: Session,
    site: SiteClock,
    pool_ids: Iterable[int],
    window: tuple[datetime, datetime],
    now: datetime,
) -> tuple[dict[int, list[UnitTimeline]], list[int]]:
    """Each pool's units with working time, blocks and live allocations inside the window.
    Also returns allocations that are active but lapsed (expired holds) in the window."""
    static = _static_units(session, site.site_id, tuple(sorted(set(pool_ids))))
    start, end = window
    local_from = start.astimezone(site.zone).date() - timedelta(days=1)
    local_to = end.astimezone(site.zone).date()
    timelines: dict[int, UnitTimeline] = {}
    for members in static.members.values():
        for unit_id, label, usage in members:
            if unit_id not in timelines:
                weekly = static.shifts.get(unit_id, site.opening)
                working = engine.local_intervals(local_from, local_to, weekly, site.zone)
                timelines[unit_id] = UnitTimeline(unit_id, label, usage, working)
    lapsed: list[int] = []
    if timelines:
        ids = list(timelines)
        blocks = session.execute(
            select(Block.unit_id, Block.starts_at, Block.ends_at).where(
                Block.site_id == site.site_id,
                or_(Block.unit_id.in_(ids), Block.unit_id.is_(None)),
                Block.starts_at < end,
                Block.ends_at > start,
            )
        ).all()
        for blocked_unit, b_start, b_end in blocks:
            targets = timelines.values() if blocked_unit is None else [timelines[blocked_unit]]
            for timeline in targets:
                timeline.busy.append((b_start, b_end))
        allocations = session.execute(
            select(
                Allocation.id,
                Allocation.unit_id,
                Allocation.starts_at,
                Allocation.ends_at,
                Allocation.expires_at,
            ).where(
                Allocation.unit_id.in_(ids),
                Allocation.active.is_(True),
                Allocation.starts_at < end,
                Allocation.ends_at > start,
            )
        ).all()
        for alloc_id, unit_id, a_start, a_end, expires_at in allocations:
            if expires_at is not None and expires_at <= now:
                lapsed.append(alloc_id)
            else:
                timelines[unit_id].busy.append((a_start, a_end))
    by_pool = {
        pool_id: [timelines[unit_id] for unit_id, _, _ in members]
        for pool_id, members in static.members.items()
    }
    return by_pool, lapsed


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
    # Offsets may be negative: a dealer's monthly place starts before the drive does.
    window = (
        start + min(d.offset for d in demands),
        start + max(d.offset + d.duration for d in demands),
    )
    by_pool, lapsed = load_timelines(session, site, [d.pool_id for d in demands], window, now)
    picks, shortfalls = engine.choose_units(start, demands, by_pool, rng=random.Random())
    if shortfalls:
        raise sold_out(shortfalls)
    if lapsed:
        # Expired holds still count for the exclusion constraint until switched off.
        session.execute(update(Allocation).where(Allocation.id.in_(lapsed)).values(active=False))
    rows = [
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
        for p in picks
    ]
    try:
        session.execute(insert(Allocation), rows)
    except IntegrityError as exc:
        if _sqlstate(exc) == "23P01":
            raise AllocationConflict() from exc
        raise
    return picks


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
