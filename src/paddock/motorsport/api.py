"""Customer racing as JSON: calendars, teams, entries, support resources and their load, the
support standard (versioned), the grid policy, requests with their evaluation, set decisions,
recorded decisions, results and the service level. Every answer that decides something
carries its reasons in plain words next to the data.

Every route is the motorsport programme's (its manager and admins: the router's rule). Writes
are audited as the signed-in caller, never as a name sent in the request. A set decision
(CP-SAT) runs in a worker thread within the server's time limit (PADDOCK_SOLVER_SECONDS)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from paddock.accounts.access import MOTORSPORT_PROGRAMME, MotorsportUser
from paddock.accounts.service import Principal
from paddock.errors import Invalid
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.motorsport import service
from paddock.motorsport.schemas import (
    ACTOR_MAX,
    FIRST_SEASON,
    LAST_SEASON,
    ChampionshipRead,
    ChassisRead,
    DecideBody,
    DecisionRead,
    DecisionRecordCreate,
    DecisionRecordRead,
    DeliveryCreate,
    EntryRead,
    EvaluationRead,
    EventRead,
    EventService,
    ImportRead,
    LoadRead,
    PolicyRead,
    PolicyUpdate,
    RequestCreate,
    RequestRead,
    ResourceRead,
    ResultCreate,
    ResultRead,
    ServiceLevelRead,
    StandardRead,
    StandardUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    WhatIf,
)

# The programme's data and decisions: the motorsport programme manager (and admins) only.
router = APIRouter(
    prefix="/api/v1/motorsport", tags=["motorsport"], dependencies=[Depends(MOTORSPORT_PROGRAMME)]
)
Year = Annotated[int, Query(ge=FIRST_SEASON, le=LAST_SEASON, description="Season year")]
SomeYear = Annotated[
    int | None, Query(ge=FIRST_SEASON, le=LAST_SEASON, description="Only this season year")
]
Version = Annotated[Id | None, Query()]
DecisionId = Annotated[Id, Path()]
# Names in paths and queries: team codes or names, request codes, series, statuses.
Name = Annotated[str, Path(min_length=1, max_length=200)]
Filter = Annotated[str | None, Query(max_length=200)]
MAX_IMPORT_BYTES = 1_000_000


def actor(user: Principal) -> str:
    """The audit trail's name for the caller (within its column)."""
    return user.actor[:ACTOR_MAX]


def solver_limit(request: Request, asked: float | None = None) -> float:
    """The solver's time limit: the server's (PADDOCK_SOLVER_SECONDS), or less if asked."""
    most: float = request.app.state.settings.solver_seconds
    return most if asked is None else min(asked, most)


@router.get("/championships", response_model=list[ChampionshipRead])
def list_championships(session: SessionDep) -> list[ChampionshipRead]:
    return service.list_championships(session)


@router.get("/calendar", response_model=list[EventRead])
def calendar(session: SessionDep, season: Year, championship: Filter = None) -> list[EventRead]:
    """The year's events with race weeks, flyaway flags and same-weekend clashes."""
    return service.season_calendar(session, year=season, championship=championship)


@router.post(
    "/seasons/import",
    response_model=ImportRead,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}, "text/calendar": {}},
            "required": True,
        }
    },
)
async def import_season(
    request: Request,
    session: SessionDep,
    user: MotorsportUser,
    fmt: Literal["csv", "ics"] | None = Query(
        default=None, alias="format", description="csv or ics (default: from the content type)"
    ),
    championship: Annotated[
        str | None, Query(max_length=200, description="For ICS: the series")
    ] = None,
    season: Annotated[
        int | None, Query(ge=FIRST_SEASON, le=LAST_SEASON, description="For ICS: the season year")
    ] = None,
    replace: bool = False,
) -> ImportRead:
    """Import calendars from a CSV (`championship,season,round,venue,country,region,
    start_date,end_date[,flyaway,setup_days,travel_days]`) or an ICS body. All or nothing;
    every bad line is listed in `errors`."""
    data = await request.body()
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid("The calendar file is larger than 1 MB.")
    kind = fmt or ("ics" if "calendar" in request.headers.get("content-type", "") else "csv")
    return await run_in_threadpool(
        service.import_season,
        session,
        data=data,
        fmt=kind,
        championship=championship,
        year=season,
        replace=replace,
        actor=actor(user),
    )


@router.get("/teams", response_model=list[TeamRead])
def list_teams(session: SessionDep) -> list[TeamRead]:
    return service.list_teams(session)


@router.post("/teams", response_model=TeamRead, status_code=201)
def create_team(body: TeamCreate, session: SessionDep, user: MotorsportUser) -> TeamRead:
    return service.create_team(session, **body.arguments(), actor=actor(user))


@router.get("/teams/{team}", response_model=TeamRead)
def get_team(team: Name, session: SessionDep) -> TeamRead:
    """A team with its entries, chassis (and their history) and results."""
    return service.get_team(session, team=team)


@router.patch("/teams/{team}", response_model=TeamRead)
def update_team(
    team: Name, body: TeamUpdate, session: SessionDep, user: MotorsportUser
) -> TeamRead:
    """Edit a team: its priority weighs its requests in the set decision."""
    return service.update_team(session, team=team, **body.arguments(), actor=actor(user))


@router.get("/entries", response_model=list[EntryRead])
def list_entries(
    session: SessionDep, season: SomeYear = None, team: Filter = None
) -> list[EntryRead]:
    return service.list_entries(session, year=season, team=team)


@router.get("/chassis", response_model=list[ChassisRead])
def list_chassis(session: SessionDep) -> list[ChassisRead]:
    return service.list_chassis(session)


@router.get("/resources", response_model=list[ResourceRead])
def list_resources(session: SessionDep, season: SomeYear = None) -> list[ResourceRead]:
    """Support pools on the capacity core, their units and days away in the season."""
    return service.list_resources(session, year=season)


@router.get("/resources/load", response_model=LoadRead)
def resource_load(session: SessionDep, season: Year) -> LoadRead:
    """Per pool and week: capacity, committed load, load if every open request were
    accepted, and what loads it (the planner's heat map)."""
    return service.resource_load(session, year=season)


@router.get("/standard", response_model=StandardRead)
def get_standard(session: SessionDep, version: Version = None) -> StandardRead:
    """The newest version of the support standard (or the version asked for)."""
    return service.get_standard(session, version=version)


@router.get("/standard/versions", response_model=list[StandardRead])
def list_standards(session: SessionDep) -> list[StandardRead]:
    return service.list_standards(session)


@router.put("/standard", response_model=StandardRead, status_code=201)
def put_standard(body: StandardUpdate, session: SessionDep, user: MotorsportUser) -> StandardRead:
    """Edit the standard: always a new version; decisions keep the version they used."""
    return service.new_standard_version(session, **body.arguments(), actor=actor(user))


@router.get("/policy", response_model=PolicyRead)
def get_policy(session: SessionDep) -> PolicyRead:
    return service.get_policy(session)


@router.put("/policy", response_model=PolicyRead)
def put_policy(body: PolicyUpdate, session: SessionDep, user: MotorsportUser) -> PolicyRead:
    """Edit the grid cap (default, per series) and the value weights."""
    return service.update_policy(session, **body.arguments(), actor=actor(user))


@router.get("/requests", response_model=list[RequestRead])
def list_requests(
    session: SessionDep, season: SomeYear = None, status: Filter = None
) -> list[RequestRead]:
    return service.list_requests(session, year=season, status=status)


@router.post("/requests", response_model=RequestRead, status_code=201)
def create_request(body: RequestCreate, session: SessionDep, user: MotorsportUser) -> RequestRead:
    return service.create_request(session, **body.arguments(), actor=actor(user))


@router.get("/requests/{code}", response_model=RequestRead)
def get_request(code: Name, session: SessionDep) -> RequestRead:
    return service.get_request(session, code=code)


@router.post("/requests/{code}/withdraw", response_model=RequestRead)
def withdraw_request(code: Name, session: SessionDep, user: MotorsportUser) -> RequestRead:
    return service.withdraw_request(session, code=code, actor=actor(user))


@router.post("/requests/{code}/evaluate", response_model=EvaluationRead)
def evaluate_request(code: Name, session: SessionDep) -> EvaluationRead:
    """Accept or decline on today's commitments and capacity, event by event and resource by
    resource, with the first binding constraint and what it would take. Nothing is stored."""
    return service.evaluate_request(session, code=code).read


@router.post("/evaluate", response_model=EvaluationRead)
def evaluate_what_if(body: WhatIf, session: SessionDep) -> EvaluationRead:
    """Evaluate a request without storing it (a team's matching open request if it has one)."""
    return service.evaluate_what_if(session, **body.arguments()).read


@router.post("/decisions/decide", response_model=DecisionRead)
def decide(body: DecideBody, session: SessionDep, request: Request) -> DecisionRead:
    """Choose the set of open requests with the most value under capacity and the grid cap
    (CP-SAT: objective, bound, gap), compared with accepting in order of arrival, within the
    server's time limit (`time_limit_s`, `time_limit_reached`). Nothing is recorded: POST
    /decisions records a decision. (A plain function: FastAPI runs it in a worker thread.)"""
    return service.decide_season(
        session,
        year=body.season,
        request_codes=body.requests,
        time_limit_s=solver_limit(request, body.time_limit_s),
    ).read


@router.get("/decisions", response_model=list[DecisionRecordRead])
def list_decisions(session: SessionDep, season: SomeYear = None) -> list[DecisionRecordRead]:
    return service.list_decisions(session, year=season)


@router.post(
    "/decisions",
    response_model=DecisionRecordRead,
    status_code=201,
    responses={409: {"description": "Support capacity exceeded, or already decided"}},
)
def record_decision(
    body: DecisionRecordCreate, session: SessionDep, user: MotorsportUser, request: Request
) -> DecisionRecordRead:
    """Record what the signed-in user decided and why. Accepted requests become entries
    holding their support on the capacity core; declined ones keep their reasons."""
    return service.record_decision(
        session,
        **body.arguments(),
        decided_by=user.name[:ACTOR_MAX],
        actor=actor(user),
        time_limit_s=solver_limit(request),
    )


@router.get("/decisions/{decision_id}", response_model=DecisionRecordRead)
def get_decision(
    decision_id: DecisionId, session: SessionDep, snapshot: bool = True
) -> DecisionRecordRead:
    """A recorded decision with the capacity snapshot it was taken on."""
    return service.get_decision(session, decision_id=decision_id, with_snapshot=snapshot)


@router.get("/results", response_model=list[ResultRead])
def list_results(
    session: SessionDep, season: SomeYear = None, team: Filter = None
) -> list[ResultRead]:
    return service.list_results(session, year=season, team=team)


@router.post("/results", response_model=ResultRead, status_code=201)
def record_result(body: ResultCreate, session: SessionDep, user: MotorsportUser) -> ResultRead:
    return service.record_result(session, **body.arguments(), actor=actor(user))


@router.post("/deliveries", response_model=EventService, status_code=201)
def record_delivery(
    body: DeliveryCreate, session: SessionDep, user: MotorsportUser
) -> EventService:
    """Support delivered to a car at an event, per resource kind (promised from the
    standard)."""
    return service.record_delivery(
        session,
        championship=body.championship,
        year=body.season,
        car_number=body.car_number,
        event=body.event,
        items=[service.Delivered(i.kind, i.delivered, i.on_time, i.note) for i in body.items],
        actor=actor(user),
    )


@router.get("/service-level", response_model=ServiceLevelRead)
def service_level(session: SessionDep, season: Year, team: Filter = None) -> ServiceLevelRead:
    """Support promised vs delivered per car and event: fill rate and on-time rate."""
    return service.service_level(session, year=season, team=team)
