"""Customer racing use cases: requests, their evaluation and the season's set decision on the
real capacity, recorded decisions that hold capacity like bookings, the support standard
(versioned), the grid policy, teams and the planner's load per resource and week.

Public functions that write own their transaction (`run_write`); reads never write. Calendar
import lives in `seasons`, results and the service level in `results`; both are re-exported
here so that callers need only this module.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from paddock.bookings.service import run_write
from paddock.capacity.models import Allocation
from paddock.db import utcnow
from paddock.errors import Busy, Conflict, Invalid, NotFound
from paddock.motorsport import capacity_view
from paddock.motorsport import models as orm
from paddock.motorsport.calendars import TeamEntry as EntryFact
from paddock.motorsport.capacity_view import NotEnoughUnits, WindowNeed
from paddock.motorsport.context import SeasonContext, load_context
from paddock.motorsport.demand import (
    CarCounts,
    DayAxis,
    DemandModel,
    GroupKey,
    capacity_by_day,
    count_cars,
    group_key,
    load_by_pool,
)
from paddock.motorsport.errors import SupportCapacityExceeded
from paddock.motorsport.evaluation import evaluate_with
from paddock.motorsport.explain import Evaluation, format_day
from paddock.motorsport.lookups import audit, find_request
from paddock.motorsport.reads import decision_read, evaluation_read
from paddock.motorsport.results import (  # noqa: F401  (re-exported)
    Delivered,
    list_results,
    record_delivery,
    record_result,
    service_level,
)
from paddock.motorsport.schemas import (
    DecidedRequest,
    DecisionRead,
    DecisionRecordRead,
    EvaluationRead,
    LoadRead,
    ResourceLoadRead,
    ResourceRead,
    ResultRead,
    UnavailabilityRead,
    WeekLoad,
)
from paddock.motorsport.seasons import (  # noqa: F401  (re-exported)
    import_season,
    list_championships,
    season_calendar,
)
from paddock.motorsport.selection import Decision, decide
from paddock.motorsport.standard import Scope, SupportRequest, requests_in_arrival_order
from paddock.motorsport.standard_policy import (
    get_policy,
    get_standard,
    list_standards,
    new_standard_version,
    update_policy,
)
from paddock.motorsport.support_requests import (
    Evaluated,
    create_request,
    engine_request,
    evaluate_request,
    evaluate_what_if,
    get_request,
    list_requests,
    open_requests_of,
    refuse_taken_number,
    withdraw_request,
)
from paddock.motorsport.teams import (
    TEAM_CODE,
    create_team,
    get_team,
    list_chassis,
    list_entries,
    list_teams,
    update_team,
)

ENGAGEMENT = capacity_view.ENGAGEMENT
# One set decision at a time per process: CP-SAT's search takes the cores while it runs. Another
# waits for it (at most its own time limit), then is answered "busy, retry".
SOLVING = threading.BoundedSemaphore(1)


@dataclass(frozen=True)
class Decided:
    decision: Decision
    read: DecisionRead
    requests: list[SupportRequest]


# --- Resources and the planner's load ---------------------------------------------------------


def list_resources(session: Session, *, year: int | None = None) -> list[ResourceRead]:
    """Support pools with their units and, for a year, the days units are away."""
    now = utcnow()
    year = year or now.year
    context = load_context(session, year=year, now=now)
    grid = context.grid
    return [
        ResourceRead(
            code=pool.code,
            name=pool.name,
            kind=pool.kind,
            region=pool.region,
            units=pool.units,
            unit_labels=[grid.unit_labels[r] for r in grid.pools[pool.code].unit_rows],
            unavailability=[
                UnavailabilityRead(
                    start_date=max(u.start_date, date(year, 1, 1)),
                    end_date=min(u.end_date, date(year, 12, 31)),
                    units=u.units,
                    reason=u.reason,
                )
                for u in pool.unavailability
                if u.end_date >= date(year, 1, 1) and u.start_date <= date(year, 12, 31)
            ],
        )
        for pool in context.pools
    ]


def resource_load(session: Session, *, year: int, now: datetime | None = None) -> LoadRead:
    """Per support pool and ISO week of the year: capacity (fewest units available on a day),
    committed load (most units held on a day by the entries) and the load if every open
    request were accepted, with what loads it: the planner's heat map."""
    now = now or utcnow()
    context = load_context(session, year=year, now=now)
    open_requests = open_requests_of(session, context)
    return LoadRead(
        year=year,
        standard_version=context.standard.version,
        open_requests=[r.code for r in open_requests],
        resources=weekly_load(context, open_requests),
    )


def weekly_load(
    context: SeasonContext, extra: Sequence[SupportRequest] = ()
) -> list[ResourceLoadRead]:
    model = context.model()
    committed = context.committed()
    with_extra = count_cars([*context.commitments, *(r.to_entry() for r in extra)])
    first = date(context.year, 1, 1)
    first -= timedelta(days=first.weekday())
    last = date(context.year, 12, 31)
    windows = [w for key in with_extra for w in model.windows(key)]
    axis = _Axis(first, last)
    load = load_by_pool(model, committed, axis)
    load_extra = load_by_pool(model, with_extra, axis)
    reads = []
    for code, pool in model.pools.pools.items():
        capacity = capacity_by_day(pool, axis)
        held = load.get(code, axis.zeros())
        wanted = load_extra.get(code, axis.zeros())
        weeks = []
        for start in range(0, axis.days, 7):
            span = slice(start, min(start + 7, axis.days))
            week_start = axis.day(start)
            week_end = week_start + timedelta(days=6)
            cap = int(capacity[span].min())
            peak = int(held[span].max())
            peak_extra = int(wanted[span].max())
            labels = sorted(
                {
                    w.label
                    for w in windows
                    if w.pool_code == code
                    and w.start_date <= week_end
                    and w.end_date >= week_start
                    and w.scope is not Scope.SEASON
                }
            )
            weeks.append(
                WeekLoad(
                    week_start=week_start,
                    capacity=cap,
                    committed=peak,
                    with_open_requests=peak_extra,
                    utilisation=round(peak / cap, 3) if cap else None,
                    short=int(np.maximum(wanted[span] - capacity[span], 0).max()),
                    labels=labels,
                )
            )
        reads.append(
            ResourceLoadRead(
                code=code,
                name=pool.name,
                kind=pool.kind,
                region=pool.region,
                units=pool.units,
                weeks=weeks,
            )
        )
    return reads


class _Axis(DayAxis):
    """A fixed day axis over [first, last]; windows reaching outside it are clipped."""

    def __init__(self, first: date, last: date) -> None:
        self.origin = first
        self.days = (last - first).days + 1

    def span(self, start: date, end: date) -> slice:
        first = min(max((start - self.origin).days, 0), self.days)
        return slice(first, min(max((end - self.origin).days + 1, first), self.days))


def decide_season(
    session: Session,
    *,
    year: int,
    request_codes: Sequence[str] | None = None,
    time_limit_s: float = 10.0,
    num_workers: int = 2,
    random_seed: int = 0,
    now: datetime | None = None,
) -> Decided:
    """Choose which of the season's open requests to accept together for the most value
    (team priority × series weight + results before the season), exactly with CP-SAT, and
    compare with accepting in order of arrival. Nothing is recorded."""
    now = now or utcnow()
    context = load_context(session, year=year, now=now)
    requests = season_requests(session, context, request_codes)
    return decide_requests(context, requests, time_limit_s, num_workers, random_seed)


def season_requests(
    session: Session, context: SeasonContext, codes: Sequence[str] | None
) -> list[SupportRequest]:
    open_requests = open_requests_of(session, context)
    if codes is None:
        if not open_requests:
            raise Invalid(f"No open requests for {context.year}.")
        return open_requests
    by_code = {r.code: r for r in open_requests}
    chosen = []
    for code in dict.fromkeys(codes):
        if code not in by_code:
            row = find_request(session, code)
            if row.season.year != context.year:
                raise Invalid(f"Request {code} is for {row.season.year}, not {context.year}.")
            raise Conflict(f"Request {code} is {row.status}; only open requests are decided.")
        chosen.append(by_code[code])
    if not chosen:
        raise Invalid("Name at least one request.")
    return chosen


def decide_requests(
    context: SeasonContext,
    requests: list[SupportRequest],
    time_limit_s: float,
    num_workers: int,
    random_seed: int,
) -> Decided:
    if not SOLVING.acquire(timeout=time_limit_s if time_limit_s > 0 else 0):
        raise Busy("Another set decision is being worked out; please retry in a few seconds.")
    try:
        decision = decide(
            requests,
            context.commitments,
            context.pools,
            context.standard,
            context.policy,
            context.weights,
            calendar=context.events,
            time_limit_s=time_limit_s,
            num_workers=num_workers,
            random_seed=random_seed,
        )
    except ValueError as error:
        raise Invalid(f"Cannot decide {context.year}: {error}.") from None
    finally:
        SOLVING.release()
    read = decision_read(
        decision,
        year=context.year,
        requests=requests,
        team_name=context.team_name,
        standard_version=context.standard.version,
    )
    return Decided(decision, read, requests)


# --- Recording decisions --------------------------------------------------------------------------


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
        context = load_context(session, year=year, now=now)
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
        evaluation, read = _checked(context, model, cars, request)
        evaluations[request.code] = read
        entry_fact = request.to_entry()
        key = group_key(entry_fact)
        before = cars.get(key, CarCounts())
        after = before.plus(entry_fact)
        needs = [
            WindowNeed(w.pool_code, w.start_date, w.end_date, delta, w.label)
            for w in model.windows(key)
            if (delta := w.quantity(after) - w.quantity(before)) > 0
        ]
        try:
            held = capacity_view.choose_allocations(context.grid, needs)
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
        row = rows[request.code]
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
        entries.append((row, entry, len(held)))
    for code in declined_codes:
        request = requests[code]
        evaluation, read = _evaluate_on(context, model, cars, request)
        evaluations[code] = read
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
                team=request.team_code,
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
    policy = {
        "default_max_cars": context.policy.default_max_cars,
        "max_cars_by_series": dict(context.policy.max_cars_by_series),
        "strategic_weight": dict(context.weights.strategic_weight),
        "team_priority": dict(context.weights.team_priority),
        "win_bonus": context.weights.win_bonus,
        "podium_bonus": context.weights.podium_bonus,
    }
    season_ids = {row.season_id for row in rows.values()}
    decision = orm.SupportDecision(
        season_id=season_ids.pop() if len(season_ids) == 1 else None,
        year=context.year,
        decided_at=now,
        decided_by=decided_by,
        rationale=rationale,
        standard_id=context.standard_row.id,
        policy=policy,
        capacity_snapshot=snapshot,
        result={
            "accepted": accepted_codes,
            "declined": declined_codes,
            "evaluations": {c: e.model_dump(mode="json") for c, e in evaluations.items()},
            "set_decision": set_result.model_dump(mode="json") if set_result else None,
            "outcomes": [o.model_dump(mode="json") for o in outcomes],
        },
    )
    session.add(decision)
    session.flush()
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


def allocate_entries(session: Session, *, year: int, now: datetime | None = None) -> int:
    """Give every entered car of the year that holds no allocations yet its support on the
    capacity core (entries loaded from history, e.g. by the demo). Runs in the caller's
    transaction; raises SupportCapacityExceeded when a unit is missing. Returns the number
    of allocations made."""
    now = now or utcnow()
    context = load_context(session, year=year, now=now)
    model = context.model()
    holding = set(
        session.scalars(
            select(Allocation.engagement_id).where(
                Allocation.engagement_kind == ENGAGEMENT,
                Allocation.engagement_id.in_([e.id for e in context.entries]),
                Allocation.active.is_(True),
            )
        )
    )
    pairs = list(zip(context.entries, context.commitments, strict=True))
    cars = count_cars([fact for entry, fact in pairs if entry.id in holding])
    made = 0
    for entry, fact in pairs:
        if entry.id in holding:
            continue
        key = group_key(fact)
        before = cars.get(key, CarCounts())
        after = before.plus(fact)
        needs = [
            WindowNeed(w.pool_code, w.start_date, w.end_date, delta, w.label)
            for w in model.windows(key)
            if (delta := w.quantity(after) - w.quantity(before)) > 0
        ]
        try:
            held = capacity_view.choose_allocations(context.grid, needs)
        except NotEnoughUnits as short:
            raise SupportCapacityExceeded(
                f"Entry #{fact.car_number or 'spare'} of {fact.team_code}: no "
                f"{short.need.pool_code} unit free on {format_day(short.day)} "
                f"({short.need.label})."
            ) from None
        capacity_view.insert_allocations(session, context.grid, entry.id, held)
        cars[key] = after
        made += len(held)
    return made


def _evaluate_on(
    context: SeasonContext,
    model: DemandModel,
    cars: dict[GroupKey, CarCounts],
    request: SupportRequest,
) -> tuple[Evaluation, EvaluationRead]:
    try:
        evaluation = evaluate_with(request, cars, model, context.policy)
    except ValueError as error:
        raise Invalid(f"Cannot evaluate {request.code}: {error}.") from None
    return evaluation, evaluation_read(evaluation, context.team_name)


def _checked(
    context: SeasonContext,
    model: DemandModel,
    cars: dict[GroupKey, CarCounts],
    request: SupportRequest,
) -> tuple[Evaluation, EvaluationRead]:
    evaluation, read = _evaluate_on(context, model, cars, request)
    if not evaluation.accepted:
        raise SupportCapacityExceeded(
            f"{context.team_name(request.team_code)} ({request.code}) cannot be accepted: "
            + " ".join(evaluation.reasons[1:] or evaluation.reasons),
            request=request.code,
            evaluation=read.model_dump(mode="json"),
        )
    return evaluation, read


def capacity_snapshot(context: SeasonContext) -> dict[str, object]:
    """The capacity a decision was taken on: pools with their days away, the commitments,
    and the committed load per pool and week."""
    return {
        "year": context.year,
        "taken_at_horizon": [
            context.grid.origin.isoformat(),
            context.grid.day(context.grid.days - 1).isoformat(),
        ],
        "pools": [
            {
                "code": p.code,
                "name": p.name,
                "kind": p.kind,
                "region": p.region,
                "units": p.units,
                "unavailability": [
                    {
                        "start_date": u.start_date.isoformat(),
                        "end_date": u.end_date.isoformat(),
                        "units": u.units,
                        "reason": u.reason,
                    }
                    for u in p.unavailability
                ],
            }
            for p in context.pools
        ],
        "commitments": [_fact(e) for e in context.commitments],
        "weekly_load": [
            {
                "pool": r.code,
                "weeks": [
                    [w.week_start.isoformat(), w.capacity, w.committed]
                    for w in r.weeks
                    if w.committed
                ],
            }
            for r in weekly_load(context)
        ],
    }


def _fact(entry: EntryFact) -> dict[str, object]:
    return {
        "team": entry.team_code,
        "championship": entry.championship,
        "season": entry.season,
        "base_region": entry.base_region,
        "car_number": entry.car_number,
        "spare": entry.spare,
    }


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
    return DecisionRecordRead(
        id=row.id,
        year=row.year,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        rationale=row.rationale,
        standard_version=standard_version,
        policy=row.policy,
        requests=outcomes,
        result=row.result,
        capacity_snapshot=row.capacity_snapshot,
    )


def entry_allocations(session: Session, *, entry_id: int) -> int:
    """How many allocations an entry holds on the capacity core (for checks and pages)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Allocation)
            .where(
                Allocation.engagement_kind == ENGAGEMENT,
                Allocation.engagement_id == entry_id,
                Allocation.active.is_(True),
            )
        )
        or 0
    )


__all__ = [
    "Decided",
    "Delivered",
    "ENGAGEMENT",
    "Evaluated",
    "ResultRead",
    "SOLVING",
    "TEAM_CODE",
    "allocate_entries",
    "capacity_snapshot",
    "create_request",
    "create_team",
    "decide_season",
    "entry_allocations",
    "evaluate_request",
    "evaluate_what_if",
    "get_decision",
    "get_policy",
    "get_request",
    "get_standard",
    "get_team",
    "import_season",
    "list_championships",
    "list_chassis",
    "list_decisions",
    "list_entries",
    "list_requests",
    "list_resources",
    "list_results",
    "list_standards",
    "list_teams",
    "new_standard_version",
    "record_decision",
    "record_delivery",
    "record_result",
    "resource_load",
    "season_calendar",
    "service_level",
    "update_policy",
    "update_team",
    "weekly_load",
    "withdraw_request",
]
