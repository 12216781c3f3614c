"""A set of requests decided together: the most value under capacity and the grid cap.

Exact with CP-SAT (one boolean per request), compared with accepting greedily in order of
arrival. The capacity constraints are the per-day ones of `evaluation`, with days that carry
the same coefficients merged into one constraint (the least room wins).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from paddock.motorsport.engine.calendars import CalendarEvent, TeamEntry
from paddock.motorsport.engine.demand import (
    CarCounts,
    DayAxis,
    DemandModel,
    GroupKey,
    IntArray,
    PoolIndex,
    capacity_by_day,
    count_cars,
    group_key,
    load_by_pool,
)
from paddock.motorsport.engine.evaluation import evaluate_with, race_cars_by_series
from paddock.motorsport.engine.explain import Evaluation
from paddock.motorsport.engine.standard import (
    GridPolicy,
    ResourcePool,
    SupportRequest,
    SupportStandard,
    ValueWeights,
    requests_in_arrival_order,
)

if TYPE_CHECKING:
    from ortools.sat.python import cp_model


def _sat() -> ModuleType:
    """OR-Tools' CP-SAT, loaded when a set of requests is first decided: with pandas, which
    it brings, it weighs about 60 MB in every server process that never decides one."""
    from ortools.sat.python import cp_model

    return cp_model


@dataclass(frozen=True, slots=True)
class GreedyResult:
    accepted_codes: tuple[str, ...]
    declined_codes: tuple[str, ...]
    value: int
    evaluations: tuple[Evaluation, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    optimal_value: int
    greedy_value: int
    accepted_only_by_optimal: tuple[str, ...]
    accepted_only_by_greedy: tuple[str, ...]

    @property
    def gain(self) -> int:
        return self.optimal_value - self.greedy_value

    def describe(self) -> str:
        if not self.accepted_only_by_optimal and not self.accepted_only_by_greedy:
            return f"Greedy in order of arrival finds the same choice (value {self.greedy_value})."
        return (
            f"Optimal value {self.optimal_value} vs greedy {self.greedy_value}: the optimum "
            f"also accepts {', '.join(self.accepted_only_by_optimal) or 'nothing else'} and "
            f"declines {', '.join(self.accepted_only_by_greedy) or 'nothing greedy took'}."
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The chosen set and how good it is proven to be.

    status is CP-SAT's (OPTIMAL, FEASIBLE when stopped by the time limit, UNKNOWN when no
    solution was found, in which case the greedy set is returned);
    gap = |best_bound - objective| / max(1, |best_bound|), 0 when proven optimal;
    time_limit_reached: the search stopped at `time_limit_s` before proving its answer.
    """

    accepted_codes: tuple[str, ...]
    declined_codes: tuple[str, ...]
    status: str
    objective_value: int
    best_bound: float
    gap: float
    wall_time_s: float
    values: Mapping[str, int]
    greedy: GreedyResult
    comparison: Comparison
    declined_explanations: tuple[Evaluation, ...]
    capacity_constraints: int
    time_limit_s: float
    time_limit_reached: bool

    @property
    def proven_optimal(self) -> bool:
        return self.status == "OPTIMAL"


def greedy(
    requests: Sequence[SupportRequest],
    commitments: Sequence[TeamEntry],
    resources: Sequence[ResourcePool],
    standard: SupportStandard,
    policy: GridPolicy,
    weights: ValueWeights,
    *,
    calendar: Sequence[CalendarEvent],
) -> GreedyResult:
    """Accept each request in order of arrival if it still fits."""
    model = DemandModel(calendar, standard, PoolIndex(resources))
    return _greedy(requests, count_cars(commitments), model, policy, weights)


def _greedy(
    requests: Sequence[SupportRequest],
    committed: dict[GroupKey, CarCounts],
    model: DemandModel,
    policy: GridPolicy,
    weights: ValueWeights,
) -> GreedyResult:
    cars = dict(committed)
    evaluations, accepted, declined = [], [], []
    for request in requests_in_arrival_order(requests):
        evaluation = evaluate_with(request, cars, model, policy)
        evaluations.append(evaluation)
        if evaluation.accepted:
            key = group_key(request.to_entry())
            cars[key] = cars.get(key, CarCounts()).plus(request.to_entry())
            accepted.append(request)
        else:
            declined.append(request.code)
    return GreedyResult(
        tuple(r.code for r in accepted),
        tuple(declined),
        sum(weights.value(r) for r in accepted),
        tuple(evaluations),
    )


def decide(
    requests: Sequence[SupportRequest],
    commitments: Sequence[TeamEntry],
    resources: Sequence[ResourcePool],
    standard: SupportStandard,
    policy: GridPolicy,
    weights: ValueWeights,
    *,
    calendar: Sequence[CalendarEvent],
    time_limit_s: float = 10.0,
    num_workers: int = 2,
    random_seed: int = 0,
) -> Decision:
    """Choose the requests to accept together for the most value, exactly (CP-SAT), within
    `time_limit_s` seconds of search (the best set found when it runs out)."""
    if not time_limit_s > 0:
        raise ValueError("the time limit must be more than 0 seconds")
    codes = [r.code for r in requests]
    if len(set(codes)) != len(codes):
        raise ValueError("request codes must be unique")
    model = DemandModel(calendar, standard, PoolIndex(resources))
    for request in requests:
        model.require_calendar(request.championship, request.season)
    committed = count_cars(commitments)
    values = {r.code: weights.value(r) for r in requests}
    if any(v < 0 for v in values.values()):
        raise ValueError("request values must be >= 0")

    greedy_result = _greedy(requests, committed, model, policy, weights)
    cp, accept, constraint_count = _build_cp_model(requests, committed, model, policy)
    cp.maximize(sum(values[code] * var for code, var in accept.items()))
    # Greedy's choice is feasible: a warm start, so even a stopped search is never worse.
    for code, var in accept.items():
        cp.add_hint(var, code in greedy_result.accepted_codes)
    sat = _sat()
    solver = sat.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = random_seed
    status = solver.solve(cp)
    found = status in (sat.OPTIMAL, sat.FEASIBLE)
    if found:
        chosen = [r for r in requests if solver.boolean_value(accept[r.code])]
    else:  # no solution within the time limit: the best known feasible set is greedy's
        chosen = [r for r in requests if r.code in greedy_result.accepted_codes]
    objective = sum(values[r.code] for r in chosen)
    bound = float(solver.best_objective_bound) if found else float(sum(values.values()))
    gap = abs(bound - objective) / max(1.0, abs(bound))

    chosen_codes = {r.code for r in chosen}
    after_choice = count_cars([*commitments, *(r.to_entry() for r in chosen)])
    return Decision(
        accepted_codes=tuple(r.code for r in chosen),
        declined_codes=tuple(code for code in codes if code not in chosen_codes),
        status=solver.status_name(status),
        objective_value=objective,
        best_bound=bound,
        gap=0.0 if status == sat.OPTIMAL else gap,
        wall_time_s=solver.wall_time,
        values=values,
        greedy=greedy_result,
        comparison=Comparison(
            optimal_value=objective,
            greedy_value=greedy_result.value,
            accepted_only_by_optimal=tuple(
                c for c in codes if c in chosen_codes and c not in greedy_result.accepted_codes
            ),
            accepted_only_by_greedy=tuple(
                c for c in greedy_result.accepted_codes if c not in chosen_codes
            ),
        ),
        declined_explanations=tuple(
            evaluate_with(r, after_choice, model, policy)
            for r in requests
            if r.code not in chosen_codes
        ),
        capacity_constraints=constraint_count,
        time_limit_s=time_limit_s,
        # Nothing else stops the search: FEASIBLE or UNKNOWN means the time ran out.
        time_limit_reached=status in (sat.FEASIBLE, sat.UNKNOWN),
    )


def _build_cp_model(
    requests: Sequence[SupportRequest],
    committed: dict[GroupKey, CarCounts],
    model: DemandModel,
    policy: GridPolicy,
) -> tuple[cp_model.CpModel, dict[str, cp_model.IntVar], int]:
    cp = _sat().CpModel()
    accept = {r.code: cp.new_bool_var(f"accept[{r.code}]") for r in requests}
    by_group: dict[GroupKey, list[SupportRequest]] = {}
    for request in requests:
        by_group.setdefault(group_key(request.to_entry()), []).append(request)

    # Per group, demand = (first - additional) * has_a_race_car + additional * race cars
    # + per_spare * spare cars; "has a race car" is a variable only for a group with none yet.
    variables: list[cp_model.IntVar] = []
    # group -> [(variable index, role)], role: "first" | "race" | "spare"
    group_terms: dict[GroupKey, list[tuple[int, str]]] = {}
    for key, group_requests in by_group.items():
        terms: list[tuple[int, str]] = []
        race = [accept[r.code] for r in group_requests if not r.is_spare]
        if race and not committed.get(key, CarCounts()).race:
            has_car = cp.new_bool_var(f"has_car[{'/'.join(map(str, key))}]")
            cp.add_max_equality(has_car, race)
            variables.append(has_car)
            terms.append((len(variables) - 1, "first"))
        for r in group_requests:
            variables.append(accept[r.code])
            terms.append((len(variables) - 1, "spare" if r.is_spare else "race"))
        group_terms[key] = terms

    groups = set(committed) | set(by_group)
    axis = DayAxis(w for key in groups for w in model.windows(key))
    coefficients: dict[str, dict[int, IntArray]] = {}
    for key, terms in group_terms.items():
        for window in model.windows(key):
            span = axis.span(window.start_date, window.end_date)
            line = window.line
            per_role = {
                "first": line.first_car - line.per_additional_car,
                "race": line.per_additional_car,
                "spare": line.per_spare_car,
            }
            for index, role in terms:
                if per_role[role]:
                    pool_rows = coefficients.setdefault(window.pool_code, {})
                    row = pool_rows.get(index)
                    if row is None:
                        row = pool_rows[index] = axis.zeros()
                    row[span] += per_role[role]
    held = load_by_pool(model, committed, axis, set(coefficients))

    constraint_count = 0
    for code, pool_rows in coefficients.items():
        indices = sorted(pool_rows)
        matrix = np.stack([pool_rows[i] for i in indices], axis=1)  # days x variables
        days = matrix.any(axis=1)
        capacity = capacity_by_day(model.pools.pools[code], axis)
        room = np.maximum(capacity - held.get(code, axis.zeros()), 0)
        # Days with the same coefficients make one constraint, with the least room.
        unique_rows, inverse = np.unique(matrix[days], axis=0, return_inverse=True)
        least_room = np.full(len(unique_rows), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(least_room, inverse.reshape(-1), room[days])
        for row, limit in zip(unique_rows, least_room, strict=True):
            if int(row.sum()) <= int(limit):
                continue  # cannot bind even if everything is accepted
            cp.add(
                sum(int(c) * variables[indices[j]] for j, c in enumerate(row) if c) <= int(limit)
            )
            constraint_count += 1

    committed_race = race_cars_by_series(committed)
    race_requests: dict[tuple[str, int], list[cp_model.IntVar]] = {}
    for request in requests:
        if not request.is_spare:
            race_requests.setdefault((request.championship, request.season), []).append(
                accept[request.code]
            )
    for (championship, season), race_vars in race_requests.items():
        room_left = max(
            policy.max_cars(championship) - committed_race.get((championship, season), 0), 0
        )
        if len(race_vars) > room_left:
            cp.add(sum(race_vars) <= room_left)
    return cp, accept, constraint_count
