"""One season year as the engine sees it: plain data, built by `motorsport.context` from the
database and handed to the evaluation, the set decision and the load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from paddock.motorsport.engine.calendars import CalendarEvent, TeamEntry
from paddock.motorsport.engine.demand import CarCounts, DemandModel, GroupKey, PoolIndex, count_cars
from paddock.motorsport.engine.grid import CapacityGrid
from paddock.motorsport.engine.standard import (
    GridPolicy,
    ResourcePool,
    SupportStandard,
    ValueWeights,
)

# Days of margin around the season when loading capacity (freight ships weeks ahead).
MARGIN_DAYS = 14


@dataclass(frozen=True)
class SeasonContext:
    """Everything one year's evaluations need. The ids name the rows a decision writes about;
    the value weights are there only when asked for (an evaluation does not need them, a set
    decision does)."""

    year: int
    season_ids: Mapping[str, int]  # by championship code
    events: Sequence[CalendarEvent]
    entry_ids: Sequence[int]  # the entered cars' rows, in the order of `commitments`
    commitments: Sequence[TeamEntry]
    standard_id: int
    standard: SupportStandard
    policy: GridPolicy
    grid: CapacityGrid
    pools: Sequence[ResourcePool]
    team_names: Mapping[str, str]  # by team code
    weights: ValueWeights | None = None

    def model(self) -> DemandModel:
        return DemandModel(self.events, self.standard, PoolIndex(self.pools))

    def committed(self) -> dict[GroupKey, CarCounts]:
        return count_cars(self.commitments)

    def team_name(self, code: str) -> str:
        return self.team_names.get(code, code)

    def value_weights(self) -> ValueWeights:
        if self.weights is None:
            raise RuntimeError(f"The {self.year} context was loaded without value weights.")
        return self.weights


def horizon(
    year: int, events: Sequence[CalendarEvent], rules: SupportStandard
) -> tuple[date, date]:
    """The season's days plus every freight trip's, with a margin."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    if events:
        lead = max(rules.freight.lead_days, 0)
        start = min(start, min(e.race_week_start_date for e in events) - timedelta(days=lead))
        back = max(rules.freight.return_days, 0)
        end = max(end, max(e.race_week_end_date for e in events) + timedelta(days=back))
    return start - timedelta(days=MARGIN_DAYS), end + timedelta(days=MARGIN_DAYS)
