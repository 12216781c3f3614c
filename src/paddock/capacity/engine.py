"""Pure capacity arithmetic: which start times every demand can be met at, why not, and which
units to take. Dataclasses in, dataclasses out; no database here, so it is fast and testable.

Time is cut into 5-minute ticks from an origin; a unit's free ticks are its working time minus
blocks and live allocations (busy time rounded outwards, working time inwards, so rounding can
only make us more careful). A demand is met at a start when enough units are free over every
tick of its interval, which a prefix sum answers for all starts at once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

TICK = timedelta(minutes=5)
Interval = tuple[datetime, datetime]
# Busy time (the bulk of a month: thousands of allocations) as microseconds since the Unix
# epoch, as the database computes them: no datetime per value on the way to the arrays.
Span = tuple[int, int]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_TICK_US = TICK // _US


def micros(moment: datetime) -> int:
    """An instant as whole microseconds since the epoch (exact)."""
    return (moment - EPOCH) // _US


def span(start: datetime, end: datetime) -> Span:
    return micros(start), micros(end)


@dataclass(frozen=True)
class Demand:
    """What an engagement needs from one pool: how many units, when relative to its start."""

    pool_id: int
    pool_code: str
    pool_name: str
    quantity: int
    offset: timedelta
    duration: timedelta
    public_name: str = ""  # what guests read (capacity/wording.py), never `pool_name`


@dataclass
class UnitTimeline:
    """One unit's working time and busy time (blocks, live allocations; as spans of epoch
    microseconds, see `span`) in a window. Units with the same hours may share one `working`
    list: treat it as read-only."""

    unit_id: int
    label: str
    usage_minutes: int
    working: list[Interval] = field(default_factory=list)
    busy: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class Shortfall:
    """A pool that cannot supply a demand: the article's 'can we provide adequate support?'."""

    pool_code: str
    pool_name: str
    starts_at: datetime
    ends_at: datetime
    needed: int
    free: int
    public_name: str = ""  # the pool's wording for guests

    @property
    def missing(self) -> int:
        return max(self.needed - self.free, 0)

    def describe(self) -> str:
        return (
            f"{self.pool_name}: {self.needed} needed from {self.starts_at:%Y-%m-%d %H:%M} "
            f"to {self.ends_at:%H:%M} UTC, {self.free} free (short by {self.missing})"
        )


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    remaining: int
    shortfall: Shortfall | None = None


@dataclass(frozen=True)
class Pick:
    demand: Demand
    unit_id: int
    unit_label: str
    starts_at: datetime
    ends_at: datetime


def local_intervals(
    day_from: date, day_to: date, weekly: dict[int, list[tuple[time, time]]], zone: ZoneInfo
) -> list[Interval]:
    """Weekly local-time intervals turned into UTC instants day by day, so DST is respected."""
    out: list[Interval] = []
    day = day_from
    while day <= day_to:
        for opens, closes in weekly.get(day.weekday(), ()):
            start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
            end_day = day if closes > opens else day + timedelta(days=1)
            end = datetime.combine(end_day, closes, tzinfo=zone).astimezone(UTC)
            if end > start:
                out.append((start, end))
        day += timedelta(days=1)
    return merge(out)


def merge(intervals: list[Interval]) -> list[Interval]:
    """Touching or overlapping intervals as one: a 24/7 unit works one long stretch, so a
    month-long demand (a dealer's place) fits inside it."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def slot_grid(
    day_from: date,
    day_to: date,
    opening: dict[int, list[tuple[time, time]]],
    zone: ZoneInfo,
    step: timedelta,
    duration: timedelta,
) -> list[datetime]:
    """Start times on the product's grid in the local days given: from each opening, every
    `step`, ending by closing. The day after is looked at too, so that an opening running on
    past midnight (round the clock) takes a late start whatever window is asked."""
    starts: list[datetime] = []
    last = datetime.combine(day_to + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    for open_at, close_at in local_intervals(day_from, day_to + timedelta(days=1), opening, zone):
        moment = open_at
        while moment + duration <= close_at and moment < last:
            starts.append(moment)
            moment += step
    return starts


class TickGrid:
    def __init__(self, origin: datetime, end: datetime) -> None:
        self.origin = _floor(origin)
        self.size = _ticks(end - self.origin, up=True) + 1

    def index(self, moment: datetime, *, up: bool) -> int:
        return min(max(_ticks(moment - self.origin, up=up), 0), self.size)

    def offsets(self, moments: Sequence[datetime]) -> npt.NDArray[np.int64]:
        """Microseconds from the origin, as an array (the one Python loop over the moments)."""
        origin = self.origin
        return np.fromiter(((m - origin) // _US for m in moments), np.int64, len(moments))

    def ticks(self, offsets: npt.NDArray[np.int64], *, up: bool) -> npt.NDArray[np.int64]:
        """index() of many moments at once, from their offsets."""
        whole = -(-offsets // _TICK_US) if up else offsets // _TICK_US
        return np.clip(whole, 0, self.size)

    def free_prefix(self, units: Sequence[UnitTimeline]) -> Unusable:
        """Per unit, running counts of unusable ticks: an interval is free iff it holds none.
        A tick is unusable outside working time or inside busy time.

        Built from difference arrays, without a loop per interval: the count of busy intervals
        covering a tick plus 1 when the unit is not working is positive exactly when the tick
        is unusable, and both are running sums of +1/-1 at interval edges. Ticks when no unit
        works (nights) are unusable for all and kept out of the per-unit arrays."""
        # Units with the same hours share their working list: cover each list once.
        patterns: dict[int, int] = {}
        lists: list[list[Interval]] = []
        for unit in units:
            if patterns.setdefault(id(unit.working), len(lists)) == len(lists):
                lists.append(unit.working)
        starts = self.offsets([s for spans in lists for s, _ in spans])
        ends = self.offsets([e for spans in lists for _, e in spans])
        working = self._edges(
            [row for row, spans in enumerate(lists) for _ in spans],
            self.ticks(starts, up=True),  # working time rounded inwards
            self.ticks(ends, up=False),
            len(lists),
            self.size + 1,
        ).cumsum(axis=1, dtype=np.int32)[:, : self.size]
        idle = working <= 0
        is_open = ~idle.all(axis=0)
        open_before = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(is_open, out=open_before[1:])
        width = int(open_before[-1])
        idle_edges = np.diff(idle[:, is_open].astype(np.int32), axis=1, prepend=0, append=0)
        edges = idle_edges[[patterns[id(u.working)] for u in units]]
        spans = chain.from_iterable(chain.from_iterable(unit.busy for unit in units))
        busy = np.fromiter(spans, np.int64).reshape(-1, 2) - micros(self.origin)
        edges += self._edges(
            np.repeat(np.arange(len(units)), [len(unit.busy) for unit in units]),
            open_before[self.ticks(busy[:, 0], up=False)],  # busy time rounded outwards
            open_before[self.ticks(busy[:, 1], up=True)],
            len(units),
            width + 1,
        )
        unusable = edges.cumsum(axis=1, dtype=np.int32)[:, :width] > 0
        prefix = np.zeros((len(units), width + 1), dtype=np.int32)
        np.cumsum(unusable, axis=1, out=prefix[:, 1:])
        closed_before = np.arange(self.size + 1, dtype=np.int64) - open_before
        return Unusable(prefix, open_before, closed_before)

    @staticmethod
    def _edges(
        rows: Sequence[int] | npt.NDArray[np.int64],
        first: npt.NDArray[np.int64],
        last: npt.NDArray[np.int64],
        height: int,
        width: int,
    ) -> npt.NDArray[np.int32]:
        """rows x width: +1 where an interval starts, -1 where it ends; its running sum counts
        the intervals covering each tick."""
        edges = np.zeros((height, width), dtype=np.int32)
        flat = edges.reshape(-1)
        row = np.asarray(rows, dtype=np.int64)
        keep = last > first
        # Each cell's count at once (np.add.at, one element at a time, costs ~3x more).
        for cells, step in ((first, 1), (last, -1)):
            at, times = np.unique(row[keep] * width + cells[keep], return_counts=True)
            flat[at] += step * times.astype(np.int32)
        return edges


@dataclass(frozen=True)
class Unusable:
    """Running counts of unusable ticks per unit (rows): `prefix` over the open ticks only,
    `closed_before` over the ticks when no unit works, `open_before` maps a grid tick to its
    place among the open ones."""

    prefix: npt.NDArray[np.int32]
    open_before: npt.NDArray[np.int64]
    closed_before: npt.NDArray[np.int64]

    def between(
        self, first: npt.NDArray[np.int64], last: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Units x intervals: unusable ticks in [first, last) of the grid."""
        inside: npt.NDArray[np.int64] = (
            self.prefix[:, self.open_before[last]] - self.prefix[:, self.open_before[first]]
        ) + (self.closed_before[last] - self.closed_before[first])
        return inside


def _free_matrix(
    grid: TickGrid, unusable: Unusable, starts: npt.NDArray[np.int64], demand: Demand
) -> npt.NDArray[np.bool_]:
    offset = demand.offset // _US
    first = grid.ticks(starts + offset, up=False)
    last = grid.ticks(starts + offset + demand.duration // _US, up=True)
    ok: npt.NDArray[np.bool_] = unusable.between(first, last) == 0
    return ok & (last > first)


def availability(
    starts: Sequence[datetime],
    duration: timedelta,
    demands: Sequence[Demand],
    units_by_pool: dict[int, list[UnitTimeline]],
    window: Interval,
) -> list[Slot]:
    """Remaining engagements per start time, with the binding shortfall where none remain."""
    if not starts or not demands:
        return [Slot(s, s + duration, 0) for s in starts]
    grid = TickGrid(window[0], window[1])
    all_units = _distinct_units(units_by_pool)
    row_of = {u.unit_id: i for i, u in enumerate(all_units)}
    unusable = grid.free_prefix(all_units)
    offsets = grid.offsets(starts)
    per_demand: list[tuple[Demand, npt.NDArray[np.bool_], list[int]]] = []
    for demand in demands:
        rows = [row_of[u.unit_id] for u in units_by_pool.get(demand.pool_id, [])]
        matrix = _free_matrix(grid, unusable, offsets, demand)[rows] if rows else None
        if matrix is None:
            matrix = np.zeros((0, len(starts)), dtype=np.bool_)
        per_demand.append((demand, matrix, rows))
    disjoint = _pairwise_disjoint([set(rows) for _, _, rows in per_demand])
    counts = np.stack([matrix.sum(axis=0) for _, matrix, _ in per_demand])
    quantities = np.array([d.quantity for d in demands])[:, None]
    # Disjoint pools (the common case): each demand on its own; the binding one is the first
    # with the least to spare. Shared units need the greedy, one start at a time.
    fit = (counts // quantities).min(axis=0).tolist()
    binding = (counts - quantities).argmin(axis=0).tolist()
    free = counts.tolist()
    slots: list[Slot] = []
    for col, start in enumerate(starts):
        remaining, i = fit[col], binding[col]
        short_free = free[i][col]
        if not disjoint:
            # With shared units a pool can look sufficient on its own; the greedy knows which
            # demand actually ran short once the others had taken their units.
            remaining, short = _greedy_capacity(per_demand, col)
            if short is not None:
                i, short_free = short
        shortfall = None
        if remaining == 0:
            demand = per_demand[i][0]
            shortfall = Shortfall(
                demand.pool_code,
                demand.pool_name,
                start + demand.offset,
                start + demand.offset + demand.duration,
                demand.quantity,
                short_free,
                demand.public_name,
            )
        slots.append(Slot(start, start + duration, remaining, shortfall))
    return slots


def choose_units(
    start: datetime,
    demands: Sequence[Demand],
    units_by_pool: dict[int, list[UnitTimeline]],
    *,
    exclude: frozenset[int] = frozenset(),
    rng: random.Random | None = None,
) -> tuple[list[Pick], list[Shortfall]]:
    """Pick concrete units for one engagement, least-used first (ties at random so concurrent
    writers spread out); a unit serves two demands only when their intervals do not overlap.
    Returns the picks, or the shortfalls when some demand cannot be met."""
    rng = rng or random.Random()
    taken: dict[int, list[Interval]] = {}
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []

    def candidates(demand: Demand) -> list[UnitTimeline]:
        interval = (start + demand.offset, start + demand.offset + demand.duration)
        return [
            u
            for u in units_by_pool.get(demand.pool_id, ())
            if is_free(u, interval) and u.unit_id not in exclude
        ]

    pool_candidates = [(d, candidates(d)) for d in demands]
    # Scarcest demand first: it has the fewest ways to be met.
    pool_candidates.sort(key=lambda pair: len(pair[1]) - pair[0].quantity)
    for demand, units in pool_candidates:
        interval = (start + demand.offset, start + demand.offset + demand.duration)
        usable = [
            u
            for u in units
            if u.unit_id not in taken
            or not any(_overlaps(interval, other) for other in taken[u.unit_id])
        ]
        if len(usable) < demand.quantity:
            shortfalls.append(
                Shortfall(
                    demand.pool_code,
                    demand.pool_name,
                    interval[0],
                    interval[1],
                    demand.quantity,
                    len(usable),
                    demand.public_name,
                )
            )
            continue
        for unit in least_used(usable, demand.quantity, rng):
            taken.setdefault(unit.unit_id, []).append(interval)
            picks.append(Pick(demand, unit.unit_id, unit.label, interval[0], interval[1]))
    return (picks, []) if not shortfalls else ([], shortfalls)


def least_used(units: Sequence[UnitTimeline], count: int, rng: random.Random) -> list[UnitTimeline]:
    """The `count` least-used units, ties broken at random: the same choice as sorting by
    (usage, random key), without drawing a random key for every unit."""
    ordered = sorted(units, key=_usage)
    if count <= 0 or len(ordered) <= count:
        return ordered[:count] if count > 0 else []
    cutoff = ordered[count - 1].usage_minutes
    sure = [u for u in ordered[:count] if u.usage_minutes < cutoff]
    tied = [u for u in ordered if u.usage_minutes == cutoff]
    return sure + rng.sample(tied, count - len(sure))


def is_free(unit: UnitTimeline, interval: Interval) -> bool:
    """Working over the whole interval and not busy in any of it. (Plain loops: this runs for
    every unit of every pool on each booking.)"""
    start, end = interval
    for work_start, work_end in unit.working:
        if work_start <= start and end <= work_end:
            break
    else:
        return False
    if unit.busy:
        first, last = micros(start), micros(end)
        for busy_start, busy_end in unit.busy:
            if first < busy_end and busy_start < last:
                return False
    return True


def _usage(unit: UnitTimeline) -> int:
    return unit.usage_minutes


def _overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _greedy_capacity(
    per_demand: list[tuple[Demand, npt.NDArray[np.bool_], list[int]]], col: int
) -> tuple[int, tuple[int, int]]:
    """How many whole engagements fit at one start when demands share units (e.g. a coach in
    two qualification pools), and the demand that ran short next with what it could still get.
    Demands with overlapping intervals cannot share a unit."""
    used: dict[int, list[tuple[timedelta, timedelta]]] = {}
    count = 0
    order = sorted(range(len(per_demand)), key=lambda k: int(per_demand[k][1][:, col].sum()))
    while True:
        trial = {k: list(v) for k, v in used.items()}
        for index in order:
            demand, matrix, rows = per_demand[index]
            span = (demand.offset, demand.offset + demand.duration)
            got = 0
            for local, row in enumerate(rows):
                if got == demand.quantity:
                    break
                if not matrix[local, col]:
                    continue
                if any(span[0] < e and s < span[1] for s, e in trial.get(row, [])):
                    continue
                trial.setdefault(row, []).append(span)
                got += 1
            if got < demand.quantity:
                return count, (index, got)
        used = trial
        count += 1


def _pairwise_disjoint(sets: list[set[int]]) -> bool:
    seen: set[int] = set()
    for rows in sets:
        if seen & rows:
            return False
        seen |= rows
    return True


def _distinct_units(units_by_pool: dict[int, list[UnitTimeline]]) -> list[UnitTimeline]:
    seen: dict[int, UnitTimeline] = {}
    for units in units_by_pool.values():
        for unit in units:
            seen.setdefault(unit.unit_id, unit)
    return list(seen.values())


def _floor(moment: datetime) -> datetime:
    minutes = moment.minute - moment.minute % 5
    return moment.replace(minute=minutes, second=0, microsecond=0)


def _ticks(delta: timedelta, *, up: bool) -> int:
    whole, rest = divmod(delta, TICK)
    return int(whole) + (1 if up and rest else 0)
