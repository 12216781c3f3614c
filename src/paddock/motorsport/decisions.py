"""Recorded decisions on a season's open requests: accepting re-checks the support on the
capacity of the moment and enters the car with its allocations on the capacity core (like a
booking); declining records the reasons. Each decision keeps the standard, the policy and the
capacity it was taken on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from paddock.db import utcnow
from paddock.errors import Conflict, Invalid, NotFound
from paddock.motorsport import capacity_view
from paddock.motorsport import models as orm
from paddock.motorsport.context import load_context
from paddock.motorsport.engine.demand import CarCounts, DemandModel, GroupKey
from paddock.motorsport.engine.explain import Evaluation, format_day
from paddock.motorsport.engine.grid import NotEnoughUnits, added_needs, choose_allocations
from paddock.motorsport.engine.season import SeasonContext
from paddock.motorsport.engine.standard import SupportRequest, requests_in_arrival_order
from paddock.motorsport.errors import SupportCapacityExceeded
from paddock.motorsport.lookups import audit
from paddock.motorsport.schemas import (
    DecidedRequest,
    DecisionRead,
    DecisionRecordRead,
    EvaluationRead,
)
from paddock.motorsport.set_decision import decide_requests, season_requests
from paddock.motorsport.snapshots import capacity_snapshot
from paddock.motorsport.support_requests import engine_request, evaluate_on, refuse_taken_number
from paddock.unit_of_work import run_write


def record_decision(
    session: Session,
    *,
    year: int,
    decided_by: str,
    actor: str | None = None,
    accept: Sequence[str] = (),
    decline: Sequence[str] = (),
    use_optimum: bool = False,
    rationale: str = "",
    time_limit_s: float = 10.0,
    num_workers: int = 2,
    random_seed: int = 0,
    now: datetime | None = None,
) -> DecisionRecordRead:
    """Record a decision on open requests of one season year. Accepting re-checks the
    support on the capacity of this moment, creates the entry and its allocations on the
    capacity core (like a booking), or refuses with SupportCapacityExceeded and writes
    nothing; declining records the reasons. With `use_optimum` the season's open requests
    are decided by `decide_season` and that choice is recorded. The audit trail names
    `actor` (the signed-in caller; by default whoever decides)."""
    now = now or utcnow()
    decided_by = decided_by.strip()
    if not decided_by:
        raise Invalid("Say who decides (decided_by).")
    accept, decline = list(dict.fromkeys(accept)), list(dict.fromkeys(decline))
    if set(accept) & set(decline):
        raise Invalid(f"Both accepted and declined: {', '.join(set(accept) & set(decline))}.")
    if not use_optimum and not accept and not decline:
        raise Invalid("Name the requests to accept or decline, or use the optimum.")

    def write() -> DecisionRecordRead:
        _lock_year(session, year)
        context = load_context(session, year=year, now=now, with_weights=True)
        set_result = None
        if use_optimum:
            decided = decide_requests(
                context,
                season_requests(session, context, None),
                time_limit_s,
                num_workers,
                random_seed,
            )
            accepted_codes = list(decided.decision.accepted_codes)
            declined_codes = list(decided.decision.declined_codes)
            set_result = decided.read
        else:
            accepted_codes, declined_codes = accept, decline
        rows = _lock_requests(session, year, [*accepted_codes, *declined_codes])
        return _write_decision(
            session,
            context,
            rows,
            accepted_codes,
            declined_codes,
            decided_by=decided_by,
            actor=actor or decided_by,
            rationale=rationale,
            set_result=set_result,
            now=now,
        )

    return run_write(session, write)


def _lock_year(session: Session, year: int) -> None:
    """One decision per season year at a time: on PostgreSQL lock the year's season rows (in
    id order); SQLite's writer already holds the database's single write lock."""
    query = select(orm.Season.id).where(orm.Season.year == year).order_by(orm.Season.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    if not session.scalars(query).all():
        raise NotFound(f"No season in {year}.")


def _lock_requests(
    session: Session, year: int, codes: Sequence[str]
) -> dict[str, orm.SupportRequest]:
    query = (
        select(orm.SupportRequest)
        .where(orm.SupportRequest.code.in_(codes))
        .order_by(orm.SupportRequest.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=orm.SupportRequest)
    rows = {r.code: r for r in session.scalars(query)}
    missing = [c for c in codes if c not in rows]
    if missing:
        raise NotFound(f"No support request {', '.join(missing)}.")
    for code in codes:
        row = rows[code]
        if row.season.year != year:
            raise Invalid(f"Request {code} is for {row.season.year}, not {year}.")
        if row.status != "open":
            when = f" on {row.decided_at:%Y-%m-%d}" if row.decided_at else ""
            raise Conflict(f"Request {code} was already {row.status}{when}.")
    return rows


def _write_decision(
    session: Session,
    context: SeasonContext,
    rows: dict[str, orm.SupportRequest],
    accepted_codes: list[str],
    declined_codes: list[str],
    *,
    decided_by: str,
    actor: str,
    rationale: str,
    set_result: DecisionRead | None,
    now: datetime,
) -> DecisionRecordRead:
    model = context.model()
    cars = context.committed()
    snapshot = capacity_snapshot(context)
    requests = {code: engine_request(rows[code]) for code in rows}
    evaluations: dict[str, EvaluationRead] = {}
    outcomes: list[DecidedRequest] = []
    entries: list[tuple[orm.SupportRequest, orm.TeamEntry, int]] = []
    for request in requests_in_arrival_order([requests[c] for c in accepted_codes]):
        _, evaluations[request.code] = _checked(context, model, cars, request)
        entry, allocations = _enter(session, context, model, cars, rows[request.code], request, now)
        entries.append((rows[request.code], entry, allocations))
    for code in declined_codes:
        evaluation, evaluations[code] = evaluate_on(context, model, cars, requests[code])
        reasons = list(evaluation.reasons)
        if evaluation.accepted:
            reasons = [
                f"Declined by {decided_by}: the support capacity exists, but the request was "
                "not chosen.",
                *reasons[1:],
            ]
        outcomes.append(
            DecidedRequest(
                request=code,
                team=requests[code].team_code,
                outcome="declined",
                entry_id=None,
                car_number=None,
                allocations=0,
                reasons=reasons,
            )
        )
    for row, entry, allocations in entries:
        outcomes.append(
            DecidedRequest(
                request=row.code,
                team=row.team.code,
                outcome="accepted",
                entry_id=entry.id,
                car_number=entry.car_number,
                allocations=allocations,
                reasons=evaluations[row.code].reasons,
            )
        )
    outcomes.sort(key=lambda o: [*accepted_codes, *declined_codes].index(o.request))
    decision = _store(
        session,
        context,
        rows,
        outcomes,
        decided_by=decided_by,
        rationale=rationale,
        now=now,
        snapshot=snapshot,
        result={
            "accepted": accepted_codes,
            "declined": declined_codes,
            "evaluations": {c: e.model_dump(mode="json") for c, e in evaluations.items()},
            "set_decision": set_result.model_dump(mode="json") if set_result else None,
            "outcomes": [o.model_dump(mode="json") for o in outcomes],
        },
    )
    for outcome in outcomes:
        row = rows[outcome.request]
        row.status = outcome.outcome
        row.decision_id = decision.id
        row.decided_at = now
        row.reasons = outcome.reasons
        audit(
            session,
            actor,
            "support_request",
            row.id,
            outcome.outcome,
            now,
            decision=decision.id,
            entry=outcome.entry_id,
        )
    audit(
        session,
        actor,
        "support_decision",
        decision.id,
        "recorded",
        now,
        accepted=accepted_codes,
        declined=declined_codes,
    )
    return _decision_record_read(decision, context.standard.version, outcomes)


def _enter(
    session: Session,
    context: SeasonContext,
    model: DemandModel,
    cars: dict[GroupKey, CarCounts],
    row: orm.SupportRequest,
    request: SupportRequest,
    now: datetime,
) -> tuple[orm.TeamEntry, int]:
    """Enter an accepted request's car with the allocations it adds (counted into `cars`)."""
    key, after, needs = added_needs(model, cars, request.to_entry())
    try:
        held = choose_allocations(context.grid, needs)
    except NotEnoughUnits as short:
        pool = context.grid.pools.get(short.need.pool_code)
        raise SupportCapacityExceeded(
            f"{context.team_name(request.team_code)} ({request.code}): no "
            f"{pool.name if pool else short.need.pool_code} unit is free on "
            f"{format_day(short.day)} for {short.need.label} on the capacity core.",
            request=request.code,
            pool=short.need.pool_code,
            on_date=short.day.isoformat(),
        ) from None
    if row.car_number:
        refuse_taken_number(session, row.season, row.car_number)
    entry = orm.TeamEntry(
        team_id=row.team_id,
        season_id=row.season_id,
        car_number=None if request.is_spare else row.car_number,
        spare=request.is_spare,
        base_region=row.base_region,
        request_id=row.id,
        status="entered",
        created_at=now,
    )
    session.add(entry)
    session.flush()
    capacity_view.insert_allocations(session, context.grid, entry.id, held)
    cars[key] = after
    return entry, len(held)


def _store(
    session: Session,
    context: SeasonContext,
    rows: dict[str, orm.SupportRequest],
    outcomes: list[DecidedRequest],
    *,
    decided_by: str,
    rationale: str,
    now: datetime,
    snapshot: dict[str, object],
    result: dict[str, object],
) -> orm.SupportDecision:
    """The decision's row, with the policy and value weights it was taken on."""
    weights = context.value_weights()
    season_ids = {row.season_id for row in rows.values()}
    decision = orm.SupportDecision(
        season_id=season_ids.pop() if len(season_ids) == 1 else None,
        year=context.year,
        decided_at=now,
        decided_by=decided_by,
        rationale=rationale,
        standard_id=context.standard_id,
        policy={
            "default_max_cars": context.policy.default_max_cars,
            "max_cars_by_series": dict(context.policy.max_cars_by_series),
            "strategic_weight": dict(weights.strategic_weight),
            "team_priority": dict(weights.team_priority),
            "win_bonus": weights.win_bonus,
            "podium_bonus": weights.podium_bonus,
        },
        capacity_snapshot=snapshot,
        result=result,
    )
    session.add(decision)
    session.flush()
    return decision


def _checked(
    context: SeasonContext,
    model: DemandModel,
    cars: dict[GroupKey, CarCounts],
    request: SupportRequest,
) -> tuple[Evaluation, EvaluationRead]:
    evaluation, read = evaluate_on(context, model, cars, request)
    if not evaluation.accepted:
        raise SupportCapacityExceeded(
            f"{context.team_name(request.team_code)} ({request.code}) cannot be accepted: "
            + " ".join(evaluation.reasons[1:] or evaluation.reasons),
            request=request.code,
            evaluation=read.model_dump(mode="json"),
        )
    return evaluation, read


def list_decisions(session: Session, *, year: int | None = None) -> list[DecisionRecordRead]:
    query = (
        select(orm.SupportDecision)
        .options(selectinload(orm.SupportDecision.standard))
        .order_by(orm.SupportDecision.decided_at, orm.SupportDecision.id)
    )
    if year is not None:
        query = query.where(orm.SupportDecision.year == year)
    return [_stored_read(d, with_snapshot=False) for d in session.scalars(query)]


def get_decision(
    session: Session, *, decision_id: int, with_snapshot: bool = True
) -> DecisionRecordRead:
    row = session.get(orm.SupportDecision, decision_id)
    if row is None:
        raise NotFound(f"No decision {decision_id}.")
    return _stored_read(row, with_snapshot=with_snapshot)


def _stored_read(row: orm.SupportDecision, *, with_snapshot: bool) -> DecisionRecordRead:
    outcomes = [DecidedRequest.model_validate(o) for o in row.result.get("outcomes", [])]
    read = _decision_record_read(row, row.standard.version, outcomes)
    if not with_snapshot:
        read.capacity_snapshot = None
    return read


def _decision_record_read(
    row: orm.SupportDecision, standard_version: int, outcomes: list[DecidedRequest]
) -> DecisionRecordRead:
    return DecisionRecordRead.of(row, standard_version=standard_version, requests=outcomes)
