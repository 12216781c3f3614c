"""Support resources seen by day, from the shared capacity core, and entries' allocations.

A support pool is a capacity `Pool` marked by a `SupportPool` row (its region). Its units work
around the clock (a 00:00-00:00 shift every weekday merges into one stretch); a unit serves a
site-local day when its working time covers the whole day and no block (leave, other
commitments) touches it. Allocations of other engagements take days away too; allocations of
motorsport entries are the engine's commitments, so the engine counts those itself.

Accepting an entry gives it allocations for the days its demand windows add: a whole window
on one unit when one is free throughout, otherwise a relay of units day by day (a hand-over
mid-week), which always exists when the per-day counts the engine checked allow it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
from paddock.motorsport.models import SupportPool
from paddock.motorsport.standard import ResourcePool, Unavailability

ENGAGEMENT = "motorsport_entry"
BoolGrid = npt.NDArray[np.bool_]
Weekly = dict[int, list[tuple[time, time]]]


@dataclass(frozen=True)
class PoolInfo:
    pool_id: int
    site_id: int
    code: str
    name: str
    kind: str
    region: str | None
    unit_rows: tuple[int, ...]


@dataclass
class CapacityGrid:
    """Support units × site-local days over [origin, origin + days)."""

    origin: date
    days: int
    pools: dict[str, PoolInfo]
    unit_ids: list[int]
    unit_labels: list[str]
    unit_sites: list[int]
    # A unit can serve the day: working all of it and not blocked.
    usable: BoolGrid
    # Held by allocations of other engagements (bookings, dealer places...).
    held_other: BoolGrid
    # Held by motorsport entries' allocations.
    held_entries: BoolGrid
    zones: dict[int, ZoneInfo]
    # Per unit row and day: the reasons of blocks touching it.
    block_reasons: dict[tuple[int, int], set[str]] = field(default_factory=dict)

    def day(self, index: int) -> date:
        return self.origin + timedelta(days=index)

    def index(self, day: date) -> int:
        return (day - self.origin).days

    def free_for_engine(self) -> BoolGrid:
        return self.usable & ~self.held_other

    def free_now(self) -> BoolGrid:
        return self.usable & ~self.held_other & ~self.held_entries

    def day_start(self, row: int, index: int) -> datetime:
        zone = self.zones[self.unit_sites[row]]
        return datetime.combine(self.day(index), time(), tzinfo=zone).astimezone(UTC)


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


def resource_pools(grid: CapacityGrid) -> list[ResourcePool]:
    """The engine's pools: units, minus what is unavailable day by day (blocks, other
    engagements, time off shift), as runs of days."""
    free = grid.free_for_engine()
    pools = []
    for info in grid.pools.values():
        rows = list(info.unit_rows)
        units = len(rows)
        away = units - free[rows].sum(axis=0) if rows else np.zeros(grid.days, dtype=np.int64)
        gaps = []
        for first, last, count in _runs(away):
            reasons = sorted(
                {
                    reason
                    for row in rows
                    for index in range(first, last + 1)
                    for reason in grid.block_reasons.get((row, index), ())
                }
            )
            gaps.append(
                Unavailability(
                    grid.day(first), grid.day(last), count, ", ".join(reasons) or "unavailable"
                )
            )
        pools.append(ResourcePool(info.code, info.name, info.kind, units, info.region, tuple(gaps)))
    return pools


def _runs(values: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """(first, last, value) of each run of equal non-zero values."""
    out: list[tuple[int, int, int]] = []
    if not len(values):
        return out
    changes = np.flatnonzero(np.diff(values, prepend=values[0] - 1))
    ends = [*changes[1:], len(values)]
    for first, stop in zip(changes, ends, strict=True):
        value = int(values[first])
        if value:
            out.append((int(first), int(stop) - 1, value))
    return out


@dataclass(frozen=True)
class WindowNeed:
    """Units an entry adds to a pool over whole days, with a label for messages."""

    pool_code: str
    start_date: date
    end_date: date
    units: int
    label: str


@dataclass(frozen=True)
class Held:
    pool_code: str
    unit_id: int
    unit_label: str
    starts_at: datetime
    ends_at: datetime


class NotEnoughUnits(Exception):
    def __init__(self, need: WindowNeed, day: date, free: int) -> None:
        super().__init__(f"{need.pool_code} on {day}")
        self.need = need
        self.day = day
        self.free = free


def choose_allocations(grid: CapacityGrid, needs: Sequence[WindowNeed]) -> list[Held]:
    """Units for each need: one unit over the whole window when possible (fewest busy days
    first), else a relay of units day by day. Marks the choice in the grid."""
    free = grid.free_now()
    held: list[Held] = []
    for need in sorted(needs, key=lambda n: (n.start_date, n.pool_code)):
        info = grid.pools[need.pool_code]
        first, last = grid.index(need.start_date), grid.index(need.end_date)
        if first < 0 or last >= grid.days:
            raise ValueError(f"{need.label}: outside the loaded days")
        for _ in range(need.units):
            for row, start, stop in _one_unit(free, list(info.unit_rows), first, last, need, grid):
                free[row, start:stop] = False
                grid.held_entries[row, start:stop] = True
                held.append(
                    Held(
                        need.pool_code,
                        grid.unit_ids[row],
                        grid.unit_labels[row],
                        grid.day_start(row, start),
                        grid.day_start(row, stop),
                    )
                )
    return held


def _one_unit(
    free: BoolGrid, rows: list[int], first: int, last: int, need: WindowNeed, grid: CapacityGrid
) -> list[tuple[int, int, int]]:
    if not rows:
        raise NotEnoughUnits(need, grid.day(first), 0)
    span = free[rows, first : last + 1]
    whole = np.flatnonzero(span.all(axis=1))
    if whole.size:
        busy = (~free[rows]).sum(axis=1)
        best = min(whole, key=lambda i: (int(busy[i]), rows[i]))
        return [(rows[best], first, last + 1)]
    pieces = []
    day = first
    while day <= last:
        runs = []
        for i, row in enumerate(rows):
            if not span[i, day - first]:
                continue
            blocked = np.flatnonzero(~span[i, day - first :])
            runs.append((int(blocked[0]) if blocked.size else last + 1 - day, -row))
        if not runs:
            raise NotEnoughUnits(need, grid.day(day), int(span[:, day - first].sum()))
        length, negative_row = max(runs)
        pieces.append((-negative_row, day, day + length))
        day += length
    return pieces


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
