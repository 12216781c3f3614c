"""Capacity use cases on the database: load unit timelines, find slots, allocate and release.

These functions run inside the caller's transaction (the booking, the dealer place, the race
entry own it); they never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paddock.capacity import claims, engine, units
from paddock.capacity.busy import read_busy
from paddock.capacity.claims import sold_out as sold_out
from paddock.capacity.engine import Demand, Pick, Slot, UnitTimeline
from paddock.capacity.models import Allocation, Unit
from paddock.capacity.takers import raw_cursor as raw_cursor
from paddock.capacity.takers import taker
from paddock.capacity.units import SiteClock as SiteClock
from paddock.capacity.units import site_clock as site_clock
from paddock.capacity.units import static_units, working_time
from paddock.db import is_busy_error as is_busy_error
from paddock.db import is_deadlock as is_deadlock
from paddock.unit_of_work import LostRace
from paddock.unit_of_work import busy as busy


def invalidate_cache() -> None:
    """Forget cached units, hours and busy hints (call after changing pools, units, shifts or
    hours)."""
    units.invalidate_cache()
    claims.hints.clear()


class AllocationConflict(LostRace):
    """A concurrent writer took a unit we chose: re-read and choose again (the unit of work
    runs the write again)."""


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
        found = read_busy(session.connection(), site.site_id, pools, window, now)
        lapsed = found.lapsed
        for unit_id, (starts, ends) in found.units.items():
            if unit_id in timelines:  # else: a unit switched off since the units were cached
                timelines[unit_id].busy.extend(zip(starts.tolist(), ends.tolist(), strict=True))
        if len(found.closures[0]):
            closed = list(zip(found.closures[0].tolist(), found.closures[1].tolist(), strict=True))
            for unit_id, timeline in timelines.items():
                if unit_id not in static.not_resources:
                    timeline.busy.extend(closed)
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
    or raise SoldOut with the shortfalls (the engine's database takes them: takers.py)."""
    static = static_units(session, site.site_id, claims.pool_ids(demands))
    return taker(session).take(
        session,
        claims.claims(static, site, demands, start),
        engagement_kind=engagement_kind,
        engagement_id=engagement_id,
        expires_at=expires_at,
        now=now,
    )


def insert_unless_taken(session: Session, row: dict[str, Any]) -> bool:
    """Insert one active allocation unless the unit is already taken over that time; False
    when it is (see takers.py: PostgreSQL's exclusion constraint decides; SQLite's writer
    holds the write lock and the caller has checked)."""
    return taker(session).insert_unless_taken(session, row)


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
