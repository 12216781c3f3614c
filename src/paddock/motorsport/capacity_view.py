"""Support resources seen by day, from the shared capacity core, and entries' allocations.

A support pool is a capacity `Pool` marked by a `SupportPool` row (its region). Its units work
around the clock (a 00:00-00:00 shift every weekday merges into one stretch); a unit serves a
site-local day when its working time covers the whole day and no block (leave, other
commitments) touches it. Allocations of other engagements take days away too; allocations of
motorsport entries are the engine's commitments, so the engine counts those itself.

The grid itself and the choice of units are pure (`engine.grid`); this module fills the grid from
the database and writes an accepted entry's allocations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import Integer, and_, cast, func, insert, literal, null, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paddock.capacity import engine
from paddock.capacity.models import (
    Allocation,
    Block,
    Pool,
    Site,
    SiteHours,
    Unit,
    UnitShift,
    pool_membership,
)
from paddock.capacity.service import AllocationConflict
from paddock.motorsport.engine.grid import CapacityGrid, Held, PoolInfo
from paddock.motorsport.models import SupportPool

ENGAGEMENT = "motorsport_entry"
Weekly = dict[int, list[tuple[time, time]]]


def load_grid(session: Session, *, start: date, end: date, now: datetime) -> CapacityGrid:
    """Every support pool's units, their working time, blocks and live allocations by day,
    in three queries (this runs on every evaluation)."""
    rows = session.execute(
        select(
            Pool.id,
            Pool.site_id,
            Pool.code,
            Pool.name,
            Pool.kind,
            SupportPool.region,
            Site.time_zone,
            Unit.id,
            Unit.label,
            Unit.site_id,
        )
        .join(SupportPool, SupportPool.pool_id == Pool.id)
        .join(Site, Site.id == Pool.site_id)
        .outerjoin(pool_membership, pool_membership.c.pool_id == Pool.id)
        .outerjoin(Unit, and_(Unit.id == pool_membership.c.unit_id, Unit.active.is_(True)))
        .order_by(Pool.id, Unit.id)
    ).all()
    zones: dict[int, ZoneInfo] = {}
    pools: dict[int, tuple[int, str, str, str, str | None]] = {}
    members: dict[int, list[int]] = defaultdict(list)
    unit_ids: list[int] = []
    unit_labels: list[str] = []
    unit_sites: list[int] = []
    row_of: dict[int, int] = {}
    for pool_id, site_id, code, name, kind, region, zone, unit_id, label, unit_site in rows:
        zones.setdefault(site_id, ZoneInfo(zone))
        pools.setdefault(pool_id, (site_id, code, name, kind, region))
        if unit_id is None:
            continue
        if unit_id not in row_of:
            row_of[unit_id] = len(unit_ids)
            unit_ids.append(unit_id)
            unit_labels.append(label)
            unit_sites.append(unit_site)
        members[pool_id].append(row_of[unit_id])
    days = (end - start).days + 1
    grid = CapacityGrid(
        origin=start,
        days=days,
        pools={
            code: PoolInfo(pool_id, site_id, code, name, kind, region, tuple(members[pool_id]))
            for pool_id, (site_id, code, name, kind, region) in pools.items()
        },
        unit_ids=unit_ids,
        unit_labels=unit_labels,
        unit_sites=unit_sites,
        usable=np.zeros((len(unit_ids), days), dtype=np.bool_),
        held_other=np.zeros((len(unit_ids), days), dtype=np.bool_),
        held_entries=np.zeros((len(unit_ids), days), dtype=np.bool_),
        zones=zones,
    )
    if not unit_ids:
        return grid
    for site in set(unit_sites) - set(zones):
        zones[site] = ZoneInfo(
            session.scalar(select(Site.time_zone).where(Site.id == site)) or "UTC"
        )
    bounds = {site: _day_bounds(start, days, zone) for site, zone in zones.items()}
    _mark_working(session, grid, bounds, row_of, start, end)
    window = (
        datetime.fromtimestamp(min(b[0] for b in bounds.values()), UTC),
        datetime.fromtimestamp(max(b[-1] for b in bounds.values()), UTC),
    )
    allocations = select(
        Allocation.engagement_kind.label("what"),
        Allocation.unit_id,
        cast(null(), Integer).label("site_id"),
        Allocation.starts_at,
        Allocation.ends_at,
        Allocation.expires_at,
        literal(False).label("is_block"),
    ).where(
        Allocation.unit_id.in_(unit_ids),
        Allocation.active.is_(True),
        Allocation.starts_at < window[1],
        Allocation.ends_at > window[0],
    )
    blocks = select(
        func.coalesce(func.nullif(Block.reason, ""), Block.kind),
        Block.unit_id,
        Block.site_id,
        Block.starts_at,
        Block.ends_at,
        null(),
        literal(True),
    ).where(
        Block.site_id.in_(list(zones)),
        or_(Block.unit_id.in_(unit_ids), Block.unit_id.is_(None)),
        Block.starts_at < window[1],
        Block.ends_at > window[0],
    )
    what: str
    busy_unit: int | None
    busy_site: int | None
    b_start: datetime
    b_end: datetime
    expires_at: datetime | None
    is_block: bool
    for what, busy_unit, busy_site, b_start, b_end, expires_at, is_block in session.execute(
        union_all(allocations, blocks)
    ):
        if is_block:
            targets = (
                [row_of[busy_unit]]
                if busy_unit is not None
                else [r for r, s in enumerate(unit_sites) if s == busy_site]
            )
            for row in targets:
                span = _span(bounds[unit_sites[row]], b_start, b_end)
                grid.usable[row, span] = False
                for index in range(span.start, span.stop):
                    grid.block_reasons.setdefault((row, index), set()).add(what)
            continue
        if expires_at is not None and expires_at <= now:
            continue  # a lapsed hold holds nothing
        assert busy_unit is not None  # an allocation always holds a unit
        row = row_of[busy_unit]
        target = grid.held_entries if what == ENGAGEMENT else grid.held_other
        target[row, _span(bounds[unit_sites[row]], b_start, b_end)] = True
    return grid


def _day_bounds(start: date, days: int, zone: ZoneInfo) -> npt.NDArray[np.float64]:
    """Epoch seconds of each local midnight from `start`, days + 1 of them."""
    return np.array(
        [
            datetime.combine(start + timedelta(days=i), time(), tzinfo=zone).timestamp()
            for i in range(days + 1)
        ],
        dtype=np.float64,
    )


def _span(bounds: npt.NDArray[np.float64], start: datetime, end: datetime) -> slice:
    """Days touched by [start, end)."""
    first = int(np.searchsorted(bounds, start.timestamp(), side="right")) - 1
    last = int(np.searchsorted(bounds, end.timestamp(), side="left"))
    days = len(bounds) - 1
    return slice(min(max(first, 0), days), min(max(last, 0), days))


def _mark_working(
    session: Session,
    grid: CapacityGrid,
    bounds: dict[int, npt.NDArray[np.float64]],
    row_of: dict[int, int],
    start: date,
    end: date,
) -> None:
    hours: dict[int, Weekly] = defaultdict(lambda: defaultdict(list))
    shifts: dict[int, Weekly] = defaultdict(lambda: defaultdict(list))
    site_hours = select(
        literal(True).label("is_site"),
        SiteHours.site_id,
        SiteHours.weekday,
        SiteHours.opens_at,
        SiteHours.closes_at,
    ).where(SiteHours.site_id.in_(list(grid.zones)))
    unit_shifts = select(
        literal(False), UnitShift.unit_id, UnitShift.weekday, UnitShift.starts_at, UnitShift.ends_at
    ).where(UnitShift.unit_id.in_(grid.unit_ids))
    for is_site, owner, weekday, opens, closes in session.execute(
        union_all(site_hours, unit_shifts)
    ):
        (hours if is_site else shifts)[owner][weekday].append((opens, closes))
    # Most units share one pattern (around the clock): compute each pattern once.
    cache: dict[tuple[int, tuple[tuple[int, time, time], ...]], npt.NDArray[np.bool_]] = {}
    for unit_id, row in row_of.items():
        site = grid.unit_sites[row]
        weekly = shifts.get(unit_id) or hours.get(site) or {}
        key = (site, tuple(sorted((d, s, e) for d, spans in weekly.items() for s, e in spans)))
        covered = cache.get(key)
        if covered is None:
            covered = cache[key] = _covered_days(
                bounds[site],
                engine.local_intervals(
                    start - timedelta(days=1), end + timedelta(days=1), weekly, grid.zones[site]
                ),
            )
        grid.usable[row] = covered


def _covered_days(
    bounds: npt.NDArray[np.float64], intervals: Iterable[tuple[datetime, datetime]]
) -> npt.NDArray[np.bool_]:
    covered = np.zeros(len(bounds) - 1, dtype=np.bool_)
    for start, end in intervals:
        first = int(np.searchsorted(bounds, start.timestamp(), side="left"))
        last = int(np.searchsorted(bounds, end.timestamp(), side="right")) - 1
        if last > first:
            covered[first:last] = True
    return covered


def insert_allocations(
    session: Session, grid: CapacityGrid, entry_id: int, held: Sequence[Held]
) -> None:
    if not held:
        return
    rows = [
        {
            "engagement_kind": ENGAGEMENT,
            "engagement_id": entry_id,
            "unit_id": h.unit_id,
            "pool_id": grid.pools[h.pool_code].pool_id,
            "starts_at": h.starts_at,
            "ends_at": h.ends_at,
            "active": True,
            "expires_at": None,
        }
        for h in held
    ]
    try:
        session.execute(insert(Allocation), rows)
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == "23P01":
            raise AllocationConflict() from exc
        raise
