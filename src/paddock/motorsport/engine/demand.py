"""From entries to day-level load: demand windows per team group, freight chains, pool loads.

A *group* is a team's cars in one series and season from one base region: the unit the
sharing rules apply to. Each group holds a fixed set of *windows* (a pool, a date range, a
demand line); how much a window holds depends only on the group's race and spare car counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from paddock.motorsport.engine.calendars import CalendarEvent, TeamEntry
from paddock.motorsport.engine.standard import (
    AppliesAt,
    DemandLine,
    FreightRules,
    PoolBasis,
    ResourcePool,
    Scope,
    SupportStandard,
    kind_label,
)

IntArray = npt.NDArray[np.int64]

# team_code, championship, season, base_region
GroupKey = tuple[str, str, int, str]


def group_key(entry: TeamEntry) -> GroupKey:
    return (entry.team_code, entry.championship, entry.season, entry.base_region)


@dataclass(frozen=True, slots=True)
class CarCounts:
    race: int = 0
    spare: int = 0

    def plus(self, entry: TeamEntry) -> CarCounts:
        return CarCounts(self.race + (not entry.spare), self.spare + entry.spare)


def count_cars(entries: Iterable[TeamEntry]) -> dict[GroupKey, CarCounts]:
    counts: dict[GroupKey, CarCounts] = {}
    for entry in entries:
        key = group_key(entry)
        counts[key] = counts.get(key, CarCounts()).plus(entry)
    return counts


@dataclass(frozen=True, slots=True)
class DemandWindow:
    """A group holds `line.quantity(race, spare)` units of `pool_code` over [start, end]."""

    pool_code: str
    start_date: date
    end_date: date
    line: DemandLine
    event_names: tuple[str, ...]
    label: str

    @property
    def scope(self) -> Scope:
        return self.line.scope

    def quantity(self, cars: CarCounts) -> int:
        return self.line.quantity(cars.race, cars.spare)


def freight_chains(
    flyaways: Sequence[CalendarEvent], rules: FreightRules
) -> list[tuple[date, date, tuple[CalendarEvent, ...]]]:
    """Kit trips (ship date, back home date, events served), in date order.

    A kit is busy from `lead_days` before an event's race week to `return_days` after its
    race. When it could not be home in time for the next flyaway's shipping date but can
    travel there directly (transit fits between the two), it goes straight on: one trip
    serves both, so one kit instead of two.
    """
    chains: list[tuple[date, date, tuple[CalendarEvent, ...]]] = []
    for event in sorted(flyaways, key=lambda e: e.race_start_date):
        ship = event.race_week_start_date - timedelta(days=rules.lead_days)
        back = event.race_end_date + timedelta(days=rules.return_days)
        if chains and rules.chaining:
            start, previous_back, served = chains[-1]
            previous = served[-1]
            transit = 0 if previous.venue == event.venue else rules.transit_days
            home_trip_clashes = previous_back >= ship
            direct_fits = previous.race_end_date + timedelta(days=transit) <= (
                event.race_week_start_date
            )
            if home_trip_clashes and direct_fits:
                chains[-1] = (start, back, (*served, event))
                continue
        chains.append((ship, back, (event,)))
    return chains


class MissingCalendar(ValueError):
    """A request for a season whose calendar has no events: the input, not the engine, is
    wrong (the service answers it as invalid)."""


class PoolIndex:
    """Finds the pool serving a kind in a region; a missing pool is a pool of zero units."""

    def __init__(self, pools: Iterable[ResourcePool]) -> None:
        self.pools: dict[str, ResourcePool] = {}
        self._by_kind_region: dict[tuple[str, str | None], ResourcePool] = {}
        for pool in pools:
            if pool.code in self.pools:
                raise ValueError(f"duplicate pool code {pool.code!r}")
            self.pools[pool.code] = pool
            self._by_kind_region.setdefault((pool.kind, pool.region), pool)
        self.missing_codes: set[str] = set()

    def resolve(self, kind: str, region: str | None) -> ResourcePool:
        pool = self._by_kind_region.get((kind, region)) or self._by_kind_region.get((kind, None))
        if pool is None:
            # No such pool yet: zero capacity, so the shortfall says what to create.
            where = f" in {region}" if region else ""
            pool = ResourcePool(
                f"missing:{kind}:{region or 'any'}",
                f"no {kind_label(kind)} pool{where}",
                kind,
                0,
                region,
            )
            self._by_kind_region[(kind, region)] = pool
            self.pools[pool.code] = pool
            self.missing_codes.add(pool.code)
        return pool


class DemandModel:
    """Windows per group for one calendar and standard, computed once per group."""

    def __init__(
        self,
        calendar: Iterable[CalendarEvent],
        standard: SupportStandard,
        pools: PoolIndex,
    ) -> None:
        self.standard = standard
        self.pools = pools
        self._events: dict[tuple[str, int], list[CalendarEvent]] = {}
        for event in calendar:
            if event.is_test and not standard.support_tests:
                continue
            self._events.setdefault((event.championship, event.season), []).append(event)
        for events in self._events.values():
            events.sort(key=lambda e: e.race_start_date)
        self._windows: dict[GroupKey, tuple[DemandWindow, ...]] = {}

    def require_calendar(self, championship: str, season: int) -> None:
        """A request needs its season's calendar (commitments without one hold season demand
        only)."""
        if (championship, season) not in self._events:
            raise MissingCalendar(f"no calendar events for {championship} {season}")

    def windows(self, key: GroupKey) -> tuple[DemandWindow, ...]:
        cached = self._windows.get(key)
        if cached is None:
            cached = self._windows[key] = tuple(self._build_windows(key))
        return cached

    def _pool_code(self, line: DemandLine, base_region: str, event_region: str) -> str:
        region = {
            PoolBasis.ENTRY: base_region,
            PoolBasis.EVENT: event_region,
            PoolBasis.GLOBAL: None,
        }[line.pool_basis]
        return self.pools.resolve(line.kind, region).code

    def _build_windows(self, key: GroupKey) -> list[DemandWindow]:
        _, championship, season, base_region = key
        events = self._events.get((championship, season), [])
        flyaways = [e for e in events if e.is_flyaway_for(base_region)]
        windows: list[DemandWindow] = []
        for line in self.standard.lines:
            if line.scope is Scope.SEASON:
                windows.append(
                    DemandWindow(
                        self._pool_code(line, base_region, base_region),
                        date(season, 1, 1),
                        date(season, 12, 31),
                        line,
                        (),
                        f"season {season}",
                    )
                )
            elif line.scope is Scope.FREIGHT:
                for ship, back, served in freight_chains(flyaways, self.standard.freight):
                    names = tuple(e.name for e in served)
                    windows.append(
                        DemandWindow(
                            self._pool_code(line, base_region, served[0].region),
                            ship,
                            back,
                            line,
                            names,
                            "freight " + " → ".join(names),
                        )
                    )
            else:
                for event in events:
                    flyaway = event.is_flyaway_for(base_region)
                    if (line.applies_at is AppliesAt.FLYAWAY and not flyaway) or (
                        line.applies_at is AppliesAt.HOME and flyaway
                    ):
                        continue
                    windows.append(
                        DemandWindow(
                            self._pool_code(line, base_region, event.region),
                            event.race_week_start_date,
                            event.race_week_end_date,
                            line,
                            (event.name,),
                            event.name,
                        )
                    )
        return windows


class DayAxis:
    """Day indices over [origin, origin + days)."""

    def __init__(self, windows: Iterable[DemandWindow]) -> None:
        spans = [(w.start_date, w.end_date) for w in windows]
        if not spans:
            today = date.today()
            spans = [(today, today)]
        self.origin = min(start for start, _ in spans)
        self.days = (max(end for _, end in spans) - self.origin).days + 1

    def span(self, start: date, end: date) -> slice:
        return slice((start - self.origin).days, (end - self.origin).days + 1)

    def day(self, index: int) -> date:
        return self.origin + timedelta(days=index)

    def zeros(self) -> IntArray:
        return np.zeros(self.days, dtype=np.int64)


def capacity_by_day(pool: ResourcePool, axis: DayAxis) -> IntArray:
    capacity = np.full(axis.days, pool.units, dtype=np.int64)
    last_day = axis.day(axis.days - 1)
    for gap in pool.unavailability:
        if gap.end_date < axis.origin or gap.start_date > last_day:
            continue
        span = axis.span(max(gap.start_date, axis.origin), min(gap.end_date, last_day))
        capacity[span] -= gap.units
    return np.maximum(capacity, 0)


def load_by_pool(
    model: DemandModel,
    cars_by_group: dict[GroupKey, CarCounts],
    axis: DayAxis,
    pool_codes: set[str] | None = None,
) -> dict[str, IntArray]:
    """Units held per pool and day by these groups (only `pool_codes` if given)."""
    loads: dict[str, IntArray] = {}
    for key, cars in cars_by_group.items():
        for window in model.windows(key):
            if pool_codes is not None and window.pool_code not in pool_codes:
                continue
            quantity = window.quantity(cars)
            if quantity:
                load = loads.get(window.pool_code)
                if load is None:
                    load = loads[window.pool_code] = axis.zeros()
                load[axis.span(window.start_date, window.end_date)] += quantity
    return loads
