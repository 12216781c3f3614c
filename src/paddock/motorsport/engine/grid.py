"""Support units × site-local days (the capacity core as the engine sees it), the engine's pools
with their days away, and the choice of units for an accepted entry's allocations: a whole window
on one unit when one is free throughout, otherwise a relay of units day by day (a hand-over
mid-week), which always exists when the per-day counts the engine checked allow it.

Plain data and numpy; `capacity_view` fills the grid from the database and writes the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from paddock.motorsport.engine.calendars import TeamEntry
from paddock.motorsport.engine.demand import CarCounts, DemandModel, GroupKey, group_key
from paddock.motorsport.engine.standard import ResourcePool, Unavailability

BoolGrid = npt.NDArray[np.bool_]


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


def added_needs(
    model: DemandModel, cars: dict[GroupKey, CarCounts], entry: TeamEntry
) -> tuple[GroupKey, CarCounts, list[WindowNeed]]:
    """What one more car adds to its group: the group, its counts with the car, and the units
    each of the group's windows then needs beyond what the group holds."""
    key = group_key(entry)
    before = cars.get(key, CarCounts())
    after = before.plus(entry)
    needs = [
        WindowNeed(w.pool_code, w.start_date, w.end_date, delta, w.label)
        for w in model.windows(key)
        if (delta := w.quantity(after) - w.quantity(before)) > 0
    ]
    return key, after, needs


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
