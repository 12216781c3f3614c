"""The engine's dataclasses (evaluations, decisions) as the answers the API, the pages and the
stored decisions give: plain words and data side by side."""

from __future__ import annotations

from typing import Any

from paddock.motorsport.engine.explain import Evaluation
from paddock.motorsport.engine.selection import Decision
from paddock.motorsport.engine.standard import SupportRequest
from paddock.motorsport.schemas import (
    AdditionRead,
    BindingRead,
    ComparisonRead,
    DecisionRead,
    EvaluationRead,
    GreedyRead,
    GridRead,
    LoadRowRead,
    RequestSummary,
    TeamName,
)


def request_summary(request: SupportRequest, team_name: TeamName) -> RequestSummary:
    return RequestSummary(
        code=request.code,
        team=request.team_code,
        team_name=team_name(request.team_code),
        kind=str(request.kind),
        championship=request.championship,
        season=request.season,
        base_region=request.base_region,
        received_on=request.received_on,
    )


def evaluation_read(evaluation: Evaluation, team_name: TeamName) -> EvaluationRead:
    def row(r: Any) -> LoadRowRead:
        return LoadRowRead(
            pool=r.pool_code,
            pool_name=r.pool_name,
            kind=r.kind,
            region=r.region,
            label=r.label,
            events=list(r.event_names),
            scope=str(r.scope),
            start_date=r.start_date,
            end_date=r.end_date,
            period=r.period,
            committed=r.existing_demand,
            requested=r.added_demand,
            capacity=r.capacity,
            shortfall=r.shortfall,
            description=r.describe(),
        )

    grid = evaluation.grid
    binding = evaluation.first_binding
    return EvaluationRead(
        request=request_summary(evaluation.request, team_name),
        accepted=evaluation.accepted,
        verdict="accept" if evaluation.accepted else "decline",
        headline=evaluation.reasons[0],
        reasons=list(evaluation.reasons),
        rows=[row(r) for r in evaluation.rows],
        shortfalls=[row(r) for r in evaluation.shortfalls],
        grid=GridRead(
            championship=grid.championship,
            season=grid.season,
            committed_cars=grid.committed_cars,
            added_cars=grid.added_cars,
            max_cars=grid.max_cars,
            violated=grid.violated,
            description=grid.describe(),
        ),
        first_binding=BindingRead(
            kind=binding.kind,
            description=binding.description,
            pool=binding.pool_code,
            on_date=binding.on_date,
            shortfall=binding.shortfall,
        )
        if binding
        else None,
        what_it_would_take=[
            AdditionRead(
                pool=a.pool_code,
                pool_name=a.pool_name,
                kind=a.kind,
                region=a.region,
                start_date=a.start_date,
                end_date=a.end_date,
                units=a.units,
                label=a.label,
                pool_exists=a.pool_exists,
                description=a.describe(),
            )
            for a in evaluation.what_it_would_take
        ],
        grid_cap_needed=evaluation.grid_cap_needed,
        standard_version=evaluation.standard_version,
    )


def decision_read(
    decision: Decision,
    *,
    year: int,
    requests: list[SupportRequest],
    team_name: TeamName,
    standard_version: int,
) -> DecisionRead:
    by_code = {r.code: r for r in requests}

    def who(code: str) -> str:
        request = by_code[code]
        return f"{team_name(request.team_code)} ({code})"

    summary = [
        f"{len(decision.accepted_codes)} of {len(requests)} request(s) accepted for {year}: "
        + (", ".join(who(c) for c in decision.accepted_codes) or "none")
        + ".",
        f"Objective {decision.objective_value}, best bound {decision.best_bound:g}, "
        f"gap {decision.gap:.1%} ({decision.status.lower()}, {decision.wall_time_s:.3f} s).",
        decision.comparison.describe(),
    ]
    if decision.time_limit_reached:
        summary.insert(1, time_limit_note(decision.status, decision.time_limit_s))
    for evaluation in decision.declined_explanations:
        summary.append(f"{who(evaluation.request.code)}: {evaluation.reasons[0]}")
    return DecisionRead(
        year=year,
        requests=[request_summary(r, team_name) for r in requests],
        accepted=list(decision.accepted_codes),
        declined=list(decision.declined_codes),
        status=decision.status,
        proven_optimal=decision.proven_optimal,
        objective=decision.objective_value,
        best_bound=decision.best_bound,
        gap=decision.gap,
        wall_time_s=decision.wall_time_s,
        values=dict(decision.values),
        greedy=GreedyRead(
            accepted=list(decision.greedy.accepted_codes),
            declined=list(decision.greedy.declined_codes),
            value=decision.greedy.value,
        ),
        comparison=ComparisonRead(
            optimal_value=decision.comparison.optimal_value,
            greedy_value=decision.comparison.greedy_value,
            gain=decision.comparison.gain,
            accepted_only_by_optimal=list(decision.comparison.accepted_only_by_optimal),
            accepted_only_by_greedy=list(decision.comparison.accepted_only_by_greedy),
            description=decision.comparison.describe(),
        ),
        declined_explanations=[
            evaluation_read(e, team_name) for e in decision.declined_explanations
        ],
        capacity_constraints=decision.capacity_constraints,
        standard_version=standard_version,
        summary=summary,
        time_limit_s=decision.time_limit_s,
        time_limit_reached=decision.time_limit_reached,
    )


def time_limit_note(status: str, limit_s: float) -> str:
    """What a search stopped by its time limit answers, in words."""
    if status == "UNKNOWN":
        return (
            f"The solver found no set within its {limit_s:g} s time limit: the best set is "
            "unknown, and the set shown is greedy's, in order of arrival."
        )
    return (
        f"The solver stopped at its {limit_s:g} s time limit: this is the best set found, "
        "not proven optimal (see the gap)."
    )
