"""Support requests (a team asks for a first, an additional or a spare car): recording,
withdrawing and listing them, and evaluating one (stored, or a what-if) on the current
commitments and capacity. Also the engine's view of stored requests, for the load and the
decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from paddock.db import utcnow
from paddock.errors import Conflict, Invalid
from paddock.motorsport import models as orm
from paddock.motorsport.context import load_context
from paddock.motorsport.engine.demand import CarCounts, DemandModel, GroupKey, MissingCalendar
from paddock.motorsport.engine.evaluation import evaluate_with
from paddock.motorsport.engine.explain import Evaluation
from paddock.motorsport.engine.season import SeasonContext
from paddock.motorsport.engine.standard import RequestKind, SupportRequest
from paddock.motorsport.lookups import audit, find_request, find_season, find_team, parse_kind
from paddock.motorsport.reads import evaluation_read
from paddock.motorsport.schemas import EvaluationRead, RequestRead
from paddock.unit_of_work import run_write


@dataclass(frozen=True)
class Evaluated:
    """One request's evaluation: the engine's dataclass and its data (plain words inside)."""

    evaluation: Evaluation
    read: EvaluationRead
    stored_request: str | None  # the open request evaluated, or None for a what-if


def list_requests(
    session: Session, *, year: int | None = None, status: str | None = None
) -> list[RequestRead]:
    query = (
        select(orm.SupportRequest)
        .join(orm.Season, orm.Season.id == orm.SupportRequest.season_id)
        .options(
            selectinload(orm.SupportRequest.team),
            selectinload(orm.SupportRequest.season).selectinload(orm.Season.championship),
        )
        .order_by(orm.SupportRequest.received_on, orm.SupportRequest.id)
    )
    if year is not None:
        query = query.where(orm.Season.year == year)
    if status:
        query = query.where(orm.SupportRequest.status == status)
    return [_request_read(r) for r in session.scalars(query)]


def get_request(session: Session, *, code: str) -> RequestRead:
    return _request_read(find_request(session, code))


def create_request(
    session: Session,
    *,
    team: str,
    championship: str,
    year: int,
    kind: str,
    car_number: str | None = None,
    base_region: str | None = None,
    received_on: date | None = None,
    note: str = "",
    actor: str,
    now: datetime | None = None,
) -> RequestRead:
    """Record a team's request; its code reads like 'jota-wec-2024-additional-car'."""
    now = now or utcnow()
    request_kind = parse_kind(kind)
    if request_kind is RequestKind.SPARE_CAR and car_number:
        raise Invalid("A spare car does not race: it has no car number.")

    def write() -> RequestRead:
        team_row = find_team(session, team)
        season = find_season(session, championship, year)
        base = f"{team_row.code}-{season.championship.code.lower()}-{year}-" + str(
            request_kind
        ).replace("_", "-")
        taken = set(
            session.scalars(
                select(orm.SupportRequest.code).where(orm.SupportRequest.code.like(f"{base}%"))
            )
        )
        code = base
        number = 2
        while code in taken:
            code, number = f"{base}-{number}", number + 1
        if car_number:
            refuse_taken_number(session, season, car_number)
        row = orm.SupportRequest(
            code=code,
            team_id=team_row.id,
            season_id=season.id,
            kind=str(request_kind),
            base_region=base_region or team_row.base_region,
            car_number=car_number or None,
            received_on=received_on or now.date(),
            status="open",
            note=note,
            created_at=now,
            created_by=actor,
            reasons=[],
        )
        session.add(row)
        session.flush()
        audit(session, actor, "support_request", row.id, "received", now, code=code)
        return _request_read(row)

    return run_write(session, write)


def withdraw_request(
    session: Session, *, code: str, actor: str, now: datetime | None = None
) -> RequestRead:
    now = now or utcnow()

    def write() -> RequestRead:
        row = find_request(session, code)
        if row.status != "open":
            raise Conflict(f"Request {code} is {row.status}; only an open request is withdrawn.")
        row.status, row.decided_at = "withdrawn", now
        audit(session, actor, "support_request", row.id, "withdrawn", now)
        return _request_read(row)

    return run_write(session, write)


def _request_read(row: orm.SupportRequest, value: int | None = None) -> RequestRead:
    return RequestRead.of(
        row,
        team=row.team.code,
        team_name=row.team.name,
        championship=row.season.championship.code,
        season=row.season.year,
        reasons=row.reasons or [],
        value=value,
    )


def refuse_taken_number(session: Session, season: orm.Season, car_number: str) -> None:
    taken = session.scalar(
        select(orm.TeamEntry.id).where(
            orm.TeamEntry.season_id == season.id,
            func.upper(orm.TeamEntry.car_number) == car_number.upper(),
        )
    )
    if taken:
        raise Conflict(
            f"Car #{car_number} is already entered in {season.championship.code} {season.year}."
        )


def engine_request(row: orm.SupportRequest) -> SupportRequest:
    return SupportRequest(
        code=row.code,
        team_code=row.team.code,
        kind=RequestKind(row.kind),
        championship=row.season.championship.code,
        season=row.season.year,
        base_region=row.base_region,
        received_on=row.received_on,
        team_name=row.team.name,
    )


def open_requests_of(session: Session, context: SeasonContext) -> list[SupportRequest]:
    season_ids = list(context.season_ids.values())
    rows = session.scalars(
        select(orm.SupportRequest)
        .options(
            selectinload(orm.SupportRequest.team),
            selectinload(orm.SupportRequest.season).selectinload(orm.Season.championship),
        )
        .where(orm.SupportRequest.season_id.in_(season_ids), orm.SupportRequest.status == "open")
        .order_by(orm.SupportRequest.received_on, orm.SupportRequest.id)
    ).all()
    return [engine_request(r) for r in rows]


# --- Evaluation and the set decision -----------------------------------------------------------


def evaluate_request(session: Session, *, code: str, now: datetime | None = None) -> Evaluated:
    """Accept or decline one stored request on the current commitments and capacity."""
    now = now or utcnow()
    row = find_request(session, code)
    if row.status in ("accepted", "withdrawn"):
        raise Conflict(
            f"Request {code} is {row.status}; "
            + (
                "its entry already holds the support."
                if row.status == "accepted"
                else "there is nothing to evaluate."
            )
        )
    request = engine_request(row)
    context = load_context(session, year=request.season, now=now)
    return Evaluated(
        *evaluate_on(context, context.model(), context.committed(), request), stored_request=code
    )


def evaluate_what_if(
    session: Session,
    *,
    team: str,
    championship: str,
    year: int,
    kind: str,
    base_region: str | None = None,
    now: datetime | None = None,
) -> Evaluated:
    """Evaluate a request without storing it; if the team has a matching open request, that
    one is evaluated (same answer, with its code and date)."""
    now = now or utcnow()
    request_kind = parse_kind(kind)
    team_row = find_team(session, team)
    season = find_season(session, championship, year)
    stored = session.scalar(
        select(orm.SupportRequest)
        .where(
            orm.SupportRequest.team_id == team_row.id,
            orm.SupportRequest.season_id == season.id,
            orm.SupportRequest.kind == str(request_kind),
            orm.SupportRequest.status == "open",
        )
        .order_by(orm.SupportRequest.received_on, orm.SupportRequest.id)
        .limit(1)
    )
    if stored is not None and (base_region is None or base_region == stored.base_region):
        return evaluate_request(session, code=stored.code, now=now)
    request = SupportRequest(
        code=f"what-if-{team_row.code}-{season.championship.code.lower()}-{year}",
        team_code=team_row.code,
        kind=request_kind,
        championship=season.championship.code,
        season=year,
        base_region=base_region or team_row.base_region,
        team_name=team_row.name,
    )
    context = load_context(session, year=year, now=now)
    return Evaluated(
        *evaluate_on(context, context.model(), context.committed(), request), stored_request=None
    )


def _evaluate(context: SeasonContext, request: SupportRequest) -> tuple[Evaluation, EvaluationRead]:
    return evaluate_on(context, context.model(), context.committed(), request)


def evaluate_on(
    context: SeasonContext,
    model: DemandModel,
    cars: dict[GroupKey, CarCounts],
    request: SupportRequest,
) -> tuple[Evaluation, EvaluationRead]:
    """One request on these car counts; a season without a calendar is the input's fault."""
    try:
        evaluation = evaluate_with(request, cars, model, context.policy)
    except MissingCalendar as error:
        raise Invalid(f"Cannot evaluate {request.code}: {error}.") from None
    return evaluation, evaluation_read(evaluation, context.team_name)
