"""The support model: resource pools, the support standard, the grid policy, requests, value.

Pure dataclasses. Quantities are whole units: a half-time parts specialist is expressed with a
sharing rule (the team's first car needs one, each further car adds none) rather than 0.5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from paddock.motorsport.engine.calendars import EUROPE, NORTH_AMERICA, RaceResult, TeamEntry


class ResourceKind(StrEnum):
    """The usual kinds; a pool's kind is any string, these are the ones the default uses."""

    ENGINEER = "engineer"
    DATA_SPECIALIST = "data_specialist"
    PARTS_SPECIALIST = "parts_specialist"
    PARTS_TRUCK = "parts_truck"
    FREIGHT_KIT = "freight_kit"
    REBUILD_SLOT = "rebuild_slot"
    SPARE_STOCK = "spare_stock"


def kind_label(kind: str, units: int = 1) -> str:
    """'data_specialist' -> 'data specialist' (or 'data specialists' for several)."""
    label = kind.replace("_", " ")
    return label if units == 1 else f"{label}s"


@dataclass(frozen=True, slots=True)
class Unavailability:
    """Units of a pool not available over [start_date, end_date]: leave, other commitments."""

    start_date: date
    end_date: date
    units: int
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end_date < self.start_date or self.units < 0:
            raise ValueError(f"bad unavailability {self.start_date}..{self.end_date}")


@dataclass(frozen=True, slots=True)
class ResourcePool:
    """Interchangeable support units: `units` available every day, minus unavailabilities.

    Season-scoped demand (rebuild slots, spare stocks) holds its units for the whole season,
    so for those pools `units` reads as "per season".
    """

    code: str
    name: str
    kind: str
    units: int
    region: str | None = None
    unavailability: tuple[Unavailability, ...] = ()

    def __post_init__(self) -> None:
        if self.units < 0:
            raise ValueError(f"pool {self.code}: units must be >= 0")

    @property
    def label(self) -> str:
        return f"{kind_label(self.kind)} ({self.region})" if self.region else kind_label(self.kind)


class Scope(StrEnum):
    RACE_WEEK = "race_week"  # held over each event's race week
    FREIGHT = "freight"  # held from shipping to return, flyaway events only, chained
    SEASON = "season"  # held for the whole season (1 Jan - 31 Dec of the season)


class AppliesAt(StrEnum):
    ALL_EVENTS = "all_events"
    FLYAWAY = "flyaway"
    HOME = "home"


class PoolBasis(StrEnum):
    """Which regional pool serves a demand (falls back to the kind's pool with no region)."""

    ENTRY = "entry"  # the pool of the entry's base region (the crew travels with the team)
    EVENT = "event"  # the pool of the event's region (a parts truck on that continent)
    GLOBAL = "global"  # the pool with no region (factory-based specialists, freight kits)


@dataclass(frozen=True, slots=True)
class DemandLine:
    """What a team's cars need from one kind of resource, with the sharing rule explicit.

    At one event (or in one season) a team with n race cars and m spare cars needs
    `first_car + per_additional_car * (n - 1) + per_spare_car * m` (the first term only when
    n >= 1). Sharing can only reduce demand: per_additional_car <= first_car.
    """

    kind: str
    first_car: int
    per_additional_car: int
    per_spare_car: int = 0
    scope: Scope = Scope.RACE_WEEK
    applies_at: AppliesAt = AppliesAt.ALL_EVENTS
    pool_basis: PoolBasis = PoolBasis.ENTRY

    def __post_init__(self) -> None:
        if min(self.first_car, self.per_additional_car, self.per_spare_car) < 0:
            raise ValueError(f"{self.kind}: demand must be >= 0")
        if self.per_additional_car > self.first_car:
            raise ValueError(f"{self.kind}: an additional car cannot need more than the first")
        if self.scope is Scope.SEASON and self.pool_basis is PoolBasis.EVENT:
            raise ValueError(f"{self.kind}: a season demand has no event region")

    def quantity(self, race_cars: int, spare_cars: int) -> int:
        shared = self.first_car + self.per_additional_car * (race_cars - 1) if race_cars else 0
        return shared + self.per_spare_car * spare_cars


@dataclass(frozen=True, slots=True)
class FreightRules:
    """Freight kit timing, in days. A kit can go straight from one flyaway to the next when
    `transit_days` fit between them (same venue: no transit), instead of returning home."""

    lead_days: int = 21
    return_days: int = 21
    transit_days: int = 10
    chaining: bool = True


@dataclass(frozen=True, slots=True)
class SupportStandard:
    """What one customer car needs from the maker, versioned: edits create a new version."""

    version: int
    effective_from: date
    lines: tuple[DemandLine, ...]
    freight: FreightRules = FreightRules()
    support_tests: bool = True
    name: str = ""


def standard_in_force(standards: Iterable[SupportStandard], on: date) -> SupportStandard:
    """The latest version effective on `on`."""
    candidates = [s for s in standards if s.effective_from <= on]
    if not candidates:
        raise ValueError(f"no support standard in force on {on}")
    return max(candidates, key=lambda s: (s.effective_from, s.version))


@dataclass(frozen=True, slots=True)
class GridPolicy:
    """At most this many customer race cars per series and season (spare cars do not race)."""

    default_max_cars: int = 2
    max_cars_by_series: Mapping[str, int] = field(default_factory=dict)

    def max_cars(self, championship: str) -> int:
        return self.max_cars_by_series.get(championship, self.default_max_cars)


class RequestKind(StrEnum):
    NEW_TEAM = "new_team"
    ADDITIONAL_CAR = "additional_car"
    SPARE_CAR = "spare_car"


@dataclass(frozen=True, slots=True)
class SupportRequest:
    """A team asks for support for one more car (racing, or a spare) in a series and season."""

    code: str
    team_code: str
    kind: RequestKind
    championship: str
    season: int
    base_region: str
    received_on: date | None = None
    # How explanations name the team (its code when empty).
    team_name: str = ""

    @property
    def team_label(self) -> str:
        return self.team_name or self.team_code

    @property
    def is_spare(self) -> bool:
        return self.kind is RequestKind.SPARE_CAR

    def to_entry(self) -> TeamEntry:
        return TeamEntry(
            team_code=self.team_code,
            championship=self.championship,
            season=self.season,
            base_region=self.base_region,
            car_number=None,
            spare=self.is_spare,
        )


@dataclass(frozen=True, slots=True)
class ResultsRecord:
    wins: int = 0
    podiums: int = 0


@dataclass(frozen=True, slots=True)
class ValueWeights:
    """value = team priority x series strategic weight + results bonus (integers for CP-SAT)."""

    team_priority: Mapping[str, int] = field(default_factory=dict)
    default_team_priority: int = 1
    strategic_weight: Mapping[str, int] = field(default_factory=dict)
    default_strategic_weight: int = 1
    team_results: Mapping[str, ResultsRecord] = field(default_factory=dict)
    win_bonus: int = 3
    podium_bonus: int = 1

    def value(self, request: SupportRequest) -> int:
        priority = self.team_priority.get(request.team_code, self.default_team_priority)
        weight = self.strategic_weight.get(request.championship, self.default_strategic_weight)
        results = self.team_results.get(request.team_code, ResultsRecord())
        return (
            priority * weight
            + results.wins * self.win_bonus
            + (results.podiums * self.podium_bonus)
        )


def results_by_team(results: Iterable[RaceResult]) -> dict[str, ResultsRecord]:
    """Wins and podiums per team (a win is also a podium)."""
    counts: dict[str, tuple[int, int]] = {}
    for result in results:
        wins, podiums = counts.get(result.team_code, (0, 0))
        counts[result.team_code] = (wins + (result.position == 1), podiums + (result.position <= 3))
    return {team: ResultsRecord(wins, podiums) for team, (wins, podiums) in counts.items()}


# --- The defaults the demo starts from (editable data, not rules in code) ---

DEFAULT_STANDARD = SupportStandard(
    version=1,
    effective_from=date(2024, 1, 1),
    name="Customer 963 support standard",
    lines=(
        # "one engineer to talk to, one parts guy": shared by a team's cars at an event.
        DemandLine(ResourceKind.ENGINEER, first_car=1, per_additional_car=0),
        DemandLine(
            ResourceKind.PARTS_SPECIALIST,
            first_car=1,
            per_additional_car=0,
            pool_basis=PoolBasis.GLOBAL,
        ),
        # Data is per car: each car's telemetry needs its own specialist.
        DemandLine(
            ResourceKind.DATA_SPECIALIST,
            first_car=1,
            per_additional_car=1,
            pool_basis=PoolBasis.GLOBAL,
        ),
        # At home events the continent's parts truck comes; at flyaways spares travel as freight.
        DemandLine(
            ResourceKind.PARTS_TRUCK,
            first_car=1,
            per_additional_car=0,
            applies_at=AppliesAt.HOME,
            pool_basis=PoolBasis.EVENT,
        ),
        DemandLine(
            ResourceKind.FREIGHT_KIT,
            first_car=1,
            per_additional_car=1,
            scope=Scope.FREIGHT,
            applies_at=AppliesAt.FLYAWAY,
            pool_basis=PoolBasis.GLOBAL,
        ),
        # A spare car adds only rebuild and spares demand, no trackside crew.
        DemandLine(
            ResourceKind.REBUILD_SLOT,
            first_car=2,
            per_additional_car=2,
            per_spare_car=1,
            scope=Scope.SEASON,
            pool_basis=PoolBasis.GLOBAL,
        ),
        DemandLine(
            ResourceKind.SPARE_STOCK,
            first_car=2,
            per_additional_car=1,
            per_spare_car=2,
            scope=Scope.SEASON,
        ),
    ),
)


def demo_resource_pools() -> tuple[ResourcePool, ...]:
    """A plausible support organisation for 2024-2025 (illustrative figures)."""
    return (
        ResourcePool(
            "eng-eu",
            "Trackside customer engineers, Europe",
            ResourceKind.ENGINEER,
            3,
            EUROPE,
            (Unavailability(date(2024, 8, 5), date(2024, 8, 18), 1, "leave"),),
        ),
        ResourcePool(
            "eng-na",
            "Trackside customer engineers, North America",
            ResourceKind.ENGINEER,
            2,
            NORTH_AMERICA,
        ),
        ResourcePool(
            "data",
            "Data specialists (Weissach)",
            ResourceKind.DATA_SPECIALIST,
            5,
            None,
            (Unavailability(date(2024, 4, 15), date(2024, 4, 19), 1, "factory endurance test"),),
        ),
        ResourcePool("parts", "Parts specialists", ResourceKind.PARTS_SPECIALIST, 4),
        ResourcePool("truck-eu", "Parts trucks, Europe", ResourceKind.PARTS_TRUCK, 2, EUROPE),
        ResourcePool(
            "truck-na", "Parts trucks, North America", ResourceKind.PARTS_TRUCK, 2, NORTH_AMERICA
        ),
        ResourcePool("kit", "Sea/air freight kits", ResourceKind.FREIGHT_KIT, 4),
        ResourcePool("rebuild", "Factory rebuild slots per season", ResourceKind.REBUILD_SLOT, 14),
        ResourcePool(
            "spares-eu", "Key spares stock sets, Europe", ResourceKind.SPARE_STOCK, 8, EUROPE
        ),
        ResourcePool(
            "spares-na",
            "Key spares stock sets, North America",
            ResourceKind.SPARE_STOCK,
            6,
            NORTH_AMERICA,
        ),
    )


def requests_in_arrival_order(requests: Sequence[SupportRequest]) -> list[SupportRequest]:
    """By `received_on`, then list order; requests without a date come last."""
    order = sorted(enumerate(requests), key=lambda pair: (pair[1].received_on or date.max, pair[0]))
    return [request for _, request in order]
