"""The engine's dataclasses (evaluations, decisions) as the answers the API, the pages and the
stored decisions give: plain words and data side by side."""

from __future__ import annotations

from paddock.motorsport.engine.explain import Evaluation, LoadRow
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
    return RequestSummary.of(
        request, team=request.team_code, team_name=team_name(request.team_code)
    )


def load_row_read(row: LoadRow) -> LoadRowRead:
    return LoadRowRead.of(
        row,
        pool=row.pool_code,
        events=row.event_names,
        committed=row.existing_demand,
        requested=row.added_demand,
        description=row.describe(),
    )


def evaluation_read(evaluation: Evaluation, team_name: TeamName) -> EvaluationRead:
    binding = evaluation.first_binding
    return EvaluationRead.of(
        evaluation,
        request=request_summary(evaluation.request, team_name),
        verdict="accept" if evaluation.accepted else "decline",
        headline=evaluation.reasons[0],
        rows=[load_row_read(r) for r in evaluation.rows],
        shortfalls=[load_row_read(r) for r in evaluation.shortfalls],
        grid=GridRead.of(evaluation.grid, description=evaluation.grid.describe()),
        first_binding=BindingRead.of(binding, pool=binding.pool_code) if binding else None,
        what_it_would_take=[
            AdditionRead.of(a, pool=a.pool_code, description=a.describe())
            for a in evaluation.what_it_would_take
        ],
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
    greedy, comparison = decision.greedy, decision.comparison
    return DecisionRead.of(
        decision,
        year=year,
        requests=[request_summary(r, team_name) for r in requests],
        accepted=decision.accepted_codes,
        declined=decision.declined_codes,
        objective=decision.objective_value,
        values=dict(decision.values),
        greedy=GreedyRead.of(
            greedy, accepted=greedy.accepted_codes, declined=greedy.declined_codes
        ),
        comparison=ComparisonRead.of(comparison, description=comparison.describe()),
        declined_explanations=[
            evaluation_read(e, team_name) for e in decision.declined_explanations
        ],
        standard_version=standard_version,
        summary=summary,
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
