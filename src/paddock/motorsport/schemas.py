"""Motorsport data as Pydantic models: API bodies and answers, and the JSON stored with a
decision. motorsport/reads.py builds the engine's answers into them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from paddock.answers import Answer
from paddock.limits import Day

TeamName = Callable[[str], str]

# --- Bounds of the input: what the columns hold and what makes sense (ids and dates:
# paddock.limits). A value outside is a 422 naming the field, never a 500. ---

FIRST_SEASON, LAST_SEASON = 1990, 2100
ACTOR_MAX = 120  # the audit trail's actor column, and created_by, decided_by...
NOTE_MAX = 4000
CODES_MAX = 500  # request codes named in one call

SeasonYear = Annotated[int, Field(ge=FIRST_SEASON, le=LAST_SEASON, description="Season year")]
Note = Annotated[str, Field(max_length=NOTE_MAX)]
SeriesCode = Annotated[str, Field(min_length=1, max_length=16)]
RequestCode = Annotated[str, Field(min_length=1, max_length=64)]
EventName = Annotated[str, Field(min_length=1, max_length=120)]
CarNumber = Annotated[str, Field(min_length=1, max_length=8)]
ResourceKindName = Annotated[str, Field(min_length=1, max_length=32)]


class Body(BaseModel):
    """A request body: unknown fields are refused (a misspelt field is not silently ignored),
    and so is naming the audit actor, which is always the signed-in caller."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _actor_is_the_caller(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("actor", "decided_by"):
                if name in data:
                    raise PydanticCustomError(
                        "actor_from_body",
                        "'{name}' cannot be set: the audit trail names the signed-in user",
                        {"name": name},
                    )
        return data

    def arguments(self) -> dict[str, Any]:
        """The body as its use case's keyword arguments: the fields as given (nested models
        kept), and `season` as the use cases' `year`."""
        return {("year" if name == "season" else name): value for name, value in self}


# --- Reads of stored things ---


class EventRead(Answer):
    code: str
    championship: str
    season: int
    round_name: str
    name: str
    venue: str
    country: str
    region: str
    race_start_date: date
    race_end_date: date
    race_week_start_date: date
    race_week_end_date: date
    setup_days: int
    travel_days: int
    is_test: bool
    flyaway: bool | None
    clashes_with: list[str] = Field(default_factory=list)


class SeasonRead(Answer):
    championship: str
    year: int
    calendar_source: str
    events: list[EventRead] | None = None


class ChampionshipRead(Answer):
    code: str
    name: str
    strategic_weight: int
    max_customer_cars: int | None
    seasons: list[int]


class EntryRead(Answer):
    id: int
    team: str
    team_name: str
    championship: str
    season: int
    car_number: str | None
    spare: bool
    base_region: str
    chassis: str | None
    status: str
    request: str | None


class ResultRead(Answer):
    id: int
    team: str
    championship: str
    season: int
    car_number: str | None
    event: str
    event_name: str
    position: int | None
    note: str


class ChassisRead(Answer):
    serial: str
    team: str | None
    delivered_on: date | None
    spare: bool
    notes: str
    entries: list[str] = Field(default_factory=list)


class TeamRead(Answer):
    code: str
    name: str
    country: str
    base_region: str
    priority: int
    notes: str
    entries: list[EntryRead] | None = None
    chassis: list[ChassisRead] | None = None
    results: list[ResultRead] | None = None


class TeamCreate(Body):
    code: str = Field(min_length=2, max_length=40, description="e.g. united-autosports")
    name: str = Field(min_length=1, max_length=200)
    base_region: str = Field(min_length=1, max_length=40)
    country: str = Field(default="", max_length=80)
    priority: int = Field(default=1, ge=0, le=1000)
    notes: Note = ""


class TeamUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    base_region: str | None = Field(default=None, min_length=1, max_length=40)
    priority: int | None = Field(default=None, ge=0, le=1000)
    notes: Note | None = None


class UnavailabilityRead(Answer):
    start_date: date
    end_date: date
    units: int
    reason: str


class PoolRead(Answer):
    """A support pool of the capacity core, as the resources and their load show it."""

    code: str
    name: str
    kind: str
    region: str | None
    units: int


class ResourceRead(PoolRead):
    unit_labels: list[str]
    unavailability: list[UnavailabilityRead] = Field(default_factory=list)


class WeekLoad(Answer):
    week_start: date
    capacity: int
    committed: int
    with_open_requests: int
    utilisation: float | None
    short: int
    labels: list[str]


class ResourceLoadRead(PoolRead):
    weeks: list[WeekLoad]


class LoadRead(Answer):
    year: int
    standard_version: int
    open_requests: list[str]
    resources: list[ResourceLoadRead]


class StandardLineIO(Answer):
    model_config = ConfigDict(extra="forbid")

    kind: ResourceKindName
    first_car: int = Field(ge=0, le=100)
    per_additional_car: int = Field(ge=0, le=100)
    per_spare_car: int = Field(default=0, ge=0, le=100)
    scope: Literal["race_week", "freight", "season"] = "race_week"
    applies_at: Literal["all_events", "flyaway", "home"] = "all_events"
    pool_basis: Literal["entry", "event", "global"] = "entry"


class FreightIO(Answer):
    model_config = ConfigDict(extra="forbid")

    lead_days: int = Field(default=21, ge=0, le=120)
    return_days: int = Field(default=21, ge=0, le=120)
    transit_days: int = Field(default=10, ge=0, le=120)
    chaining: bool = True


class StandardRead(Answer):
    version: int
    effective_from: date
    name: str
    note: str
    lines: list[StandardLineIO]
    freight: FreightIO
    support_tests: bool
    created_at: datetime
    created_by: str
    in_force_for: list[int] = Field(default_factory=list)


class StandardUpdate(Body):
    """A new version of the standard (versions are never edited)."""

    lines: list[StandardLineIO] = Field(min_length=1, max_length=40)
    effective_from: Day | None = Field(
        default=None, description="Default: the date the current latest version applies from"
    )
    freight: FreightIO | None = None
    support_tests: bool | None = None
    name: str | None = Field(default=None, max_length=200)
    note: Note = ""


class PolicyRead(Answer):
    default_max_cars: int
    max_cars_by_series: dict[str, int]
    strategic_weight: dict[str, int]
    team_priority: dict[str, int]
    win_bonus: int
    podium_bonus: int
    updated_at: datetime | None
    updated_by: str


class PolicyUpdate(Body):
    default_max_cars: int | None = Field(default=None, ge=0, le=100)
    max_cars_by_series: dict[SeriesCode, Annotated[int, Field(ge=0, le=100)] | None] | None = Field(
        default=None, max_length=50, description="Per-series cap; null removes the override"
    )
    strategic_weight: dict[SeriesCode, Annotated[int, Field(ge=0, le=1000)]] | None = Field(
        default=None, max_length=50
    )
    win_bonus: int | None = Field(default=None, ge=0, le=1000)
    podium_bonus: int | None = Field(default=None, ge=0, le=1000)


RequestKindName = Literal["new_team", "additional_car", "spare_car"]


class RequestCreate(Body):
    team: str = Field(min_length=1, max_length=200, description="Team code or name")
    championship: SeriesCode
    season: SeasonYear
    kind: RequestKindName
    car_number: str | None = Field(default=None, max_length=8)
    base_region: str | None = Field(default=None, max_length=40)
    received_on: Day | None = None
    note: Note = ""


class WhatIf(Body):
    """A request evaluated without being stored."""

    team: str = Field(min_length=1, max_length=200)
    championship: SeriesCode
    season: SeasonYear
    kind: RequestKindName
    base_region: str | None = Field(default=None, max_length=40)


class RequestRead(Answer):
    code: str
    team: str
    team_name: str
    championship: str
    season: int
    kind: str
    base_region: str
    car_number: str | None
    received_on: date
    status: str
    note: str
    decision_id: int | None
    decided_at: datetime | None
    reasons: list[str]
    value: int | None = None


# --- The engine's answers ---


class RequestSummary(Answer):
    code: str
    team: str
    team_name: str
    kind: str
    championship: str
    season: int
    base_region: str
    received_on: date | None


class LoadRowRead(Answer):
    pool: str
    pool_name: str
    kind: str
    region: str | None
    label: str
    events: list[str]
    scope: str
    start_date: date
    end_date: date
    period: str
    committed: int
    requested: int
    capacity: int
    shortfall: int
    description: str


class AdditionRead(Answer):
    pool: str
    pool_name: str
    kind: str
    region: str | None
    start_date: date
    end_date: date
    units: int
    label: str
    pool_exists: bool
    description: str


class GridRead(Answer):
    championship: str
    season: int
    committed_cars: int
    added_cars: int
    max_cars: int
    violated: bool
    description: str


class BindingRead(Answer):
    kind: str
    description: str
    pool: str | None
    on_date: date | None
    shortfall: int


class EvaluationRead(Answer):
    request: RequestSummary
    accepted: bool
    verdict: Literal["accept", "decline"]
    headline: str
    reasons: list[str]
    rows: list[LoadRowRead]
    shortfalls: list[LoadRowRead]
    grid: GridRead
    first_binding: BindingRead | None
    what_it_would_take: list[AdditionRead]
    grid_cap_needed: int | None
    standard_version: int


class GreedyRead(Answer):
    accepted: list[str]
    declined: list[str]
    value: int


class ComparisonRead(Answer):
    optimal_value: int
    greedy_value: int
    gain: int
    accepted_only_by_optimal: list[str]
    accepted_only_by_greedy: list[str]
    description: str


class DecisionRead(Answer):
    year: int
    requests: list[RequestSummary]
    accepted: list[str]
    declined: list[str]
    status: str
    proven_optimal: bool
    objective: int
    best_bound: float
    gap: float
    wall_time_s: float
    values: dict[str, int]
    greedy: GreedyRead
    comparison: ComparisonRead
    declined_explanations: list[EvaluationRead]
    capacity_constraints: int
    standard_version: int
    summary: list[str]
    time_limit_s: float = Field(description="The solver's time limit for this answer (s)")
    time_limit_reached: bool = Field(
        description="The search ran out of time: the best set found, not proven optimal "
        "(status FEASIBLE), or none found (status UNKNOWN: greedy's set is shown)"
    )


class DecisionRecordCreate(Body):
    """Record a decision: list what is accepted and declined, or take the optimum. It is
    recorded as decided by the signed-in user."""

    season: SeasonYear
    accept: list[RequestCode] = Field(default_factory=list, max_length=CODES_MAX)
    decline: list[RequestCode] = Field(default_factory=list, max_length=CODES_MAX)
    use_optimum: bool = Field(
        default=False, description="Accept the optimal set of the season's open requests"
    )
    rationale: Note = ""


class DecidedRequest(BaseModel):
    request: str
    team: str
    outcome: Literal["accepted", "declined"]
    entry_id: int | None
    car_number: str | None
    allocations: int
    reasons: list[str]


class DecisionRecordRead(Answer):
    id: int
    year: int
    decided_at: datetime
    decided_by: str
    rationale: str
    standard_version: int
    policy: dict[str, Any]
    requests: list[DecidedRequest]
    result: dict[str, Any]
    capacity_snapshot: dict[str, Any] | None = None


class DecideBody(Body):
    season: SeasonYear
    requests: list[RequestCode] | None = Field(
        default=None,
        max_length=CODES_MAX,
        description="Request codes; default: the season's open requests",
    )
    time_limit_s: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Solver time limit (s); default and at most the server's "
        "(PADDOCK_SOLVER_SECONDS): a longer one is cut to it",
    )


class ResultCreate(Body):
    championship: SeriesCode
    season: SeasonYear
    car_number: CarNumber
    event: EventName = Field(description="Event code, or its short or round name")
    position: int | None = Field(default=None, ge=1, le=200)
    note: Note = ""


class DeliveryItem(Body):
    kind: ResourceKindName
    delivered: int = Field(ge=0, le=100)
    on_time: bool = True
    note: Note = ""


class DeliveryCreate(Body):
    championship: SeriesCode
    season: SeasonYear
    car_number: CarNumber
    event: EventName
    items: list[DeliveryItem] = Field(min_length=1, max_length=20)


class DeliveryLine(Answer):
    kind: str
    promised: int
    delivered: int
    on_time: bool
    note: str


class EventService(Answer):
    event: str
    event_name: str
    race_start_date: date
    lines: list[DeliveryLine]
    fill_rate: float | None
    on_time_rate: float | None


class EntryService(Answer):
    entry_id: int
    team: str
    team_name: str
    championship: str
    car_number: str | None
    events: list[EventService]
    fill_rate: float | None
    on_time_rate: float | None


class ServiceLevelRead(Answer):
    year: int
    entries: list[EntryService]
    fill_rate: float | None
    on_time_rate: float | None
    summary: str


class ImportRead(Answer):
    seasons: list[SeasonRead]
    events: int
    replaced: int
