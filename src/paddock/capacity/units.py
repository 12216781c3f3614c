"""What changes rarely about units, cached a few seconds per process: a site's opening hours,
each pool's units with their usage, their weekly shifts, and the working time those give.

The booking path reads these on every request; a stale entry costs nothing unsafe, because
the database (exclusion constraint or write lock) decides, and retired units keep guard rows.
"""

from __future__ import annotations

import threading
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.capacity import engine
from paddock.capacity.models import Pool, SiteHours, Unit, UnitShift, pool_membership

# Pools that stand for quotas (a dealer's monthly places) or guests' property (a customer's car
# at a delivery) rather than the centre's resources: a site closure does not close them.
NOT_RESOURCES = ("dealer_allotment", "customer_vehicle")

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
class StaticUnits:
    members: dict[int, list[tuple[int, str, int]]]  # pool -> (unit, label, usage)
    shifts: dict[int, Weekly]
    loaded_at: float
    # Each unit once, with the index of its weekly working pattern in `patterns`.
    units: tuple[tuple[int, str, int, int], ...] = ()
    # The distinct weekly shifts of these units (None: the site's opening hours).
    patterns: tuple[WeeklyKey | None, ...] = ()
    # Per pool, its units as (unit, pattern index), least used first, grouped by equal usage.
    ranked: dict[int, tuple[tuple[tuple[int, int], ...], ...]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    # Units of quota or guests' pools (NOT_RESOURCES): site closures leave them alone.
    not_resources: frozenset[int] = frozenset()
    # working() per (site's hours, start, end), for this snapshot's few seconds: a slot's
    # forty bookings ask the same question.
    _working: dict[tuple[WeeklyKey, datetime, datetime], tuple[bool, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def ranked_ids(self) -> dict[int, tuple[tuple[int, ...], ...]]:
        """`ranked` without the patterns."""
        return {
            pool_id: tuple(tuple(unit_id for unit_id, _ in group) for group in groups)
            for pool_id, groups in self.ranked.items()
        }

    def working(self, site: SiteClock, start: datetime, end: datetime) -> tuple[bool, ...]:
        """Per pattern: does it work over the whole of [start, end)?"""
        key = (site.opening_key, start, end)
        known = self._working.get(key)
        if known is not None:
            return known
        zone = str(site.zone)
        local_from = start.astimezone(site.zone).date() - timedelta(days=1)
        local_to = end.astimezone(site.zone).date()
        answer = tuple(
            any(
                s <= start and end <= e
                for s, e in working_time(zone, pattern or site.opening_key, local_from, local_to)
            )
            for pattern in self.patterns
        )
        if len(self._working) >= MEMO_SIZE:
            self._working.clear()
        self._working[key] = answer
        return answer


CACHE_SECONDS = 5.0
MEMO_SIZE = 8192  # intervals remembered per snapshot (a few seconds of bookings)
_static_cache: dict[tuple[int, tuple[int, ...]], StaticUnits] = {}
_site_cache: dict[int, tuple[SiteClock, float]] = {}
_cache_lock = threading.Lock()


def invalidate_cache() -> None:
    """Forget cached units and hours (call after changing pools, units, shifts or hours)."""
    with _cache_lock:
        _static_cache.clear()
        _site_cache.clear()


def cached_site_clock(site_id: int) -> SiteClock | None:
    """The site's hours if the cache holds them fresh, else None (read them with a session)."""
    with _cache_lock:
        cached = _site_cache.get(site_id)
    if cached and clock.monotonic() - cached[1] < CACHE_SECONDS:
        return cached[0]
    return None


def site_clock(session: Session, site_id: int, zone_name: str) -> SiteClock:
    """The site's hours, from the cache or read (and cached a few seconds)."""
    cached = cached_site_clock(site_id)
    if cached is not None:
        return cached
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


def cached_static_units(site_id: int, pool_ids: tuple[int, ...]) -> StaticUnits | None:
    """The units of these pools (sorted pool ids) if the cache holds them fresh, else None."""
    with _cache_lock:
        cached = _static_cache.get((site_id, pool_ids))
    if cached and clock.monotonic() - cached.loaded_at < CACHE_SECONDS:
        return cached
    return None


def static_units(session: Session, site_id: int, pool_ids: tuple[int, ...]) -> StaticUnits:
    """The active units of these pools (sorted pool ids), their shifts and usage, from the
    cache or read (and cached a few seconds)."""
    cached = cached_static_units(site_id, pool_ids)
    if cached is not None:
        return cached
    members: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    rows = session.execute(
        select(pool_membership.c.pool_id, Unit.id, Unit.label, Unit.usage_minutes, Pool.kind)
        .join(Unit, Unit.id == pool_membership.c.unit_id)
        .join(Pool, Pool.id == pool_membership.c.pool_id)
        .where(pool_membership.c.pool_id.in_(pool_ids), Unit.active.is_(True))
        .order_by(Unit.id)
    )
    unit_ids: set[int] = set()
    not_resources: set[int] = set()
    for pool_id, unit_id, label, usage, kind in rows:
        members[pool_id].append((unit_id, label, usage))
        unit_ids.add(unit_id)
        if kind in NOT_RESOURCES:
            not_resources.add(unit_id)
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
    result = StaticUnits(
        dict(members),
        shift_map,
        clock.monotonic(),
        tuple(distinct.values()),
        tuple(patterns),
        {pool_id: _ranked(units, distinct) for pool_id, units in members.items()},
        {unit_id: label for unit_id, label, _, _ in distinct.values()},
        frozenset(not_resources),
    )
    with _cache_lock:
        _static_cache[(site_id, pool_ids)] = result
    return result


def _ranked(
    units: list[tuple[int, str, int]], distinct: dict[int, tuple[int, str, int, int]]
) -> tuple[tuple[tuple[int, int], ...], ...]:
    groups: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for unit_id, _, usage in units:
        groups[usage].append((unit_id, distinct[unit_id][3]))
    return tuple(tuple(groups[usage]) for usage in sorted(groups))


def weekly_key(weekly: Weekly) -> WeeklyKey:
    return tuple(sorted((day, tuple(sorted(spans))) for day, spans in weekly.items()))


@lru_cache(maxsize=4096)
def working_time(
    zone: str, weekly: WeeklyKey, local_from: date, local_to: date
) -> list[engine.Interval]:
    """Working time of every unit with the same weekly hours, computed once per window: a
    booking looks at a hundred units but they share a handful of shift patterns."""
    return engine.local_intervals(
        local_from, local_to, {day: list(spans) for day, spans in weekly}, ZoneInfo(zone)
    )
