"""One request at a time: accept or decline, event by event and resource by resource.

Feasibility, everywhere the same: on every pool and day, the load after accepting must not
exceed the capacity, except that a day already over capacity by commitments alone may stay so
as long as nothing is added to it; and per series and season, race cars must stay within the
grid cap (or not grow if already above it). Demand only grows with accepted cars, so a set is
feasible exactly when accepting its requests one by one never meets a shortfall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from paddock.motorsport.engine.calendars import CalendarEvent, TeamEntry
from paddock.motorsport.engine.demand import (
    CarCounts,
    DayAxis,
    DemandModel,
    DemandWindow,
    GroupKey,
    IntArray,
    PoolIndex,
    capacity_by_day,
    count_cars,
    group_key,
    load_by_pool,
)
from paddock.motorsport.engine.explain import (
    BindingConstraint,
    CapacityAddition,
    Evaluation,
    GridCheck,
    LoadRow,
    build_reasons,
    combine_labels,
    format_day,
    pool_label,
)
from paddock.motorsport.engine.standard import (
    GridPolicy,
    RequestKind,
    ResourcePool,
    SupportRequest,
    SupportStandard,
    kind_label,
)


def evaluate(
    request: SupportRequest,
    commitments: Sequence[TeamEntry],
    resources: Sequence[ResourcePool],
    standard: SupportStandard,
    policy: GridPolicy,
    calendar: Sequence[CalendarEvent],
) -> Evaluation:
    """Accept or decline one request on top of the commitments, with its reasons."""
    model = DemandModel(calendar, standard, PoolIndex(resources))
    return evaluate_with(request, count_cars(commitments), model, policy)


def is_feasible(
    accepted: Sequence[SupportRequest],
    commitments: Sequence[TeamEntry],
    resources: Sequence[ResourcePool],
    standard: SupportStandard,
    policy: GridPolicy,
    calendar: Sequence[CalendarEvent],
) -> bool:
    """Whether accepting all of `accepted` together respects capacity and the grid cap."""
    model = DemandModel(calendar, standard, PoolIndex(resources))
    for request in accepted:
        model.require_calendar(request.championship, request.season)
    before = count_cars(commitments)
    after = count_cars([*commitments, *(r.to_entry() for r in accepted)])
    axis = DayAxis(w for key in after for w in model.windows(key))
    load_before = load_by_pool(model, before, axis)
    for code, load in load_by_pool(model, after, axis).items():
        capacity = capacity_by_day(model.pools.pools[code], axis)
        held = load_before.get(code, axis.zeros())
        if np.any(load > np.maximum(capacity, held)):
            return False
    committed_race, accepted_race = race_cars_by_series(before), race_cars_by_series(after)
    return all(
        total <= max(policy.max_cars(series[0]), committed_race.get(series, 0))
        for series, total in accepted_race.items()
    )


def race_cars_by_series(
    cars_by_group: Mapping[GroupKey, CarCounts],
) -> dict[tuple[str, int], int]:
    totals: dict[tuple[str, int], int] = {}
    for (_, championship, season, _), cars in cars_by_group.items():
        totals[(championship, season)] = totals.get((championship, season), 0) + cars.race
    return totals


def evaluate_with(
    request: SupportRequest,
    committed: dict[GroupKey, CarCounts],
    model: DemandModel,
    policy: GridPolicy,
) -> Evaluation:
    """`evaluate` on car counts and a prepared model (windows are cached across calls)."""
    model.require_calendar(request.championship, request.season)
    entry = request.to_entry()
    key = group_key(entry)
    before = committed.get(key, CarCounts())
    after = before.plus(entry)
    # A race car's rows include what it shares (added 0) to show the sharing; a spare's do not.
    own_windows = [
        w
        for w in model.windows(key)
        if w.quantity(after) > w.quantity(before) or (not request.is_spare and w.quantity(after))
    ]
    pool_codes = {w.pool_code for w in own_windows}
    axis = DayAxis([w for k in committed for w in model.windows(k)] + own_windows)
    loaded = load_by_pool(model, committed, axis, pool_codes)
    existing = {code: loaded.get(code, axis.zeros()) for code in pool_codes}
    added = {code: axis.zeros() for code in pool_codes}
    for window in own_windows:
        delta = window.quantity(after) - window.quantity(before)
        added[window.pool_code][axis.span(window.start_date, window.end_date)] += delta
    capacity = {code: capacity_by_day(model.pools.pools[code], axis) for code in pool_codes}
    shortfall: dict[str, IntArray] = {}
    for code in pool_codes:
        over = np.maximum(existing[code] + added[code] - capacity[code], 0)
        shortfall[code] = np.where(added[code] > 0, over, 0)

    rows = []
    for window in sorted(own_windows, key=lambda w: (w.start_date, w.pool_code)):
        pool = model.pools.pools[window.pool_code]
        span = axis.span(window.start_date, window.end_date)
        rows.append(
            LoadRow(
                pool_code=pool.code,
                pool_name=pool.name,
                kind=pool.kind,
                region=pool.region,
                label=window.label,
                event_names=window.event_names,
                scope=window.scope,
                start_date=window.start_date,
                end_date=window.end_date,
                existing_demand=int(existing[pool.code][span].max()),
                added_demand=int(added[pool.code][span].max()),
                capacity=int(capacity[pool.code][span].min()),
                shortfall=int(shortfall[pool.code][span].max()),
            )
        )

    committed_race = race_cars_by_series(committed).get((request.championship, request.season), 0)
    grid = GridCheck(
        request.championship,
        request.season,
        committed_race,
        0 if request.is_spare else 1,
        policy.max_cars(request.championship),
    )
    additions = _least_additions(shortfall, axis, model, committed, own_windows, before, after)
    first_binding = _first_binding(grid, shortfall, axis, model)
    accepted = not grid.violated and not additions
    return Evaluation(
        request=request,
        accepted=accepted,
        rows=tuple(rows),
        grid=grid,
        first_binding=first_binding,
        what_it_would_take=additions,
        grid_cap_needed=grid.committed_cars + grid.added_cars if grid.violated else None,
        reasons=build_reasons(
            request=request,
            accepted=accepted,
            rows=rows,
            grid=grid,
            first_binding=first_binding,
            additions=additions,
            notes=_sharing_notes(request, before, own_windows, after),
        ),
        standard_version=model.standard.version,
    )


def _first_binding(
    grid: GridCheck, shortfall: dict[str, IntArray], axis: DayAxis, model: DemandModel
) -> BindingConstraint | None:
    # The grid cap is a policy: it binds whatever the dates. Otherwise the earliest day short.
    if grid.violated:
        return BindingConstraint(
            "grid_cap",
            f"the {grid.championship} {grid.season} grid cap of {grid.max_cars} customer cars "
            f"({grid.committed_cars + grid.added_cars} with this one)",
            shortfall=grid.committed_cars + grid.added_cars - grid.max_cars,
        )
    candidates = []
    for code, short in shortfall.items():
        days = np.flatnonzero(short)
        if days.size:
            first = int(days[0])
            candidates.append((first, -int(short[first]), code))
    if not candidates:
        return None
    first, negative_short, code = min(candidates)
    pool = model.pools.pools[code]
    day = axis.day(first)
    return BindingConstraint(
        "capacity",
        f"{pool_label(pool.kind, pool.region, 2)} short by {-negative_short} from "
        f"{format_day(day)}",
        pool_code=code,
        on_date=day,
        shortfall=-negative_short,
    )


def _least_additions(
    shortfall: dict[str, IntArray],
    axis: DayAxis,
    model: DemandModel,
    committed: dict[GroupKey, CarCounts],
    own_windows: Sequence[DemandWindow],
    before: CarCounts,
    after: CarCounts,
) -> tuple[CapacityAddition, ...]:
    """Exactly the shortfall per day, as runs of days with the same missing units."""
    additions = []
    for code, short in shortfall.items():
        if not short.any():
            continue
        pool = model.pools.pools[code]
        # Windows that load this pool, to name what overlaps each run.
        loading = [
            w for w in own_windows if w.pool_code == code and w.quantity(after) > w.quantity(before)
        ]
        loading += [
            w
            for k, cars in committed.items()
            for w in model.windows(k)
            if w.pool_code == code and w.quantity(cars)
        ]
        boundaries = np.flatnonzero(np.diff(short, prepend=0, append=0))
        for start, stop in zip(boundaries[:-1], boundaries[1:], strict=True):
            units = int(short[start])
            if not units:
                continue
            first, last = axis.day(int(start)), axis.day(int(stop) - 1)
            overlapping = [w for w in loading if w.start_date <= last and w.end_date >= first]
            additions.append(
                CapacityAddition(
                    pool_code=code,
                    pool_name=pool.name,
                    kind=pool.kind,
                    region=pool.region,
                    start_date=first,
                    end_date=last,
                    units=units,
                    label=combine_labels(overlapping),
                    pool_exists=code not in model.pools.missing_codes,
                )
            )
    return tuple(sorted(additions, key=lambda a: (a.start_date, a.pool_code)))


def _sharing_notes(
    request: SupportRequest,
    before: CarCounts,
    own_windows: Sequence[DemandWindow],
    after: CarCounts,
) -> list[str]:
    team, series = request.team_label, f"{request.championship} {request.season}"
    if request.is_spare:
        return ["A spare car needs no trackside crew: it adds only season spares and rebuilds."]
    notes = []
    if before.race and request.kind is RequestKind.NEW_TEAM:
        notes.append(f"{team} already has cars in {series}: counted as an additional car.")
    if not before.race and request.kind is RequestKind.ADDITIONAL_CAR:
        notes.append(f"{team} has no car in {series} yet: counted as its first car.")
    shared = sorted(
        {kind_label(w.line.kind) for w in own_windows if w.quantity(after) == w.quantity(before)}
    )
    if before.race and shared:
        notes.append(
            f"Shares with {team}'s {before.race} existing car(s) in {series}: {', '.join(shared)}."
        )
    return notes
