"""Evaluation results as data, and their plain-English wording."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from paddock.motorsport.engine.demand import DemandWindow
from paddock.motorsport.engine.standard import RequestKind, Scope, SupportRequest, kind_label


def format_day(day: date) -> str:
    return f"{day.day} {day:%b} {day.year}"


def format_date_range(start: date, end: date) -> str:
    """'17–20 Apr 2024', '28 Aug–1 Sep 2024', '30 Dec 2024–2 Jan 2025'."""
    if start == end:
        return format_day(start)
    if start.year != end.year:
        return f"{format_day(start)}–{format_day(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%b}–{format_day(end)}"
    return f"{start.day}–{format_day(end)}"


def _is_whole_season(start: date, end: date) -> bool:
    return (
        start.year == end.year
        and (start.month, start.day) == (1, 1)
        and (end.month, end.day) == (12, 31)
    )


def format_period(start: date, end: date) -> str:
    return f"season {start.year}" if _is_whole_season(start, end) else format_date_range(start, end)


def combine_labels(windows: Sequence[DemandWindow]) -> str:
    """Name what overlaps: 'Imola / Long Beach weekend', 'freight COTA → Fuji', 'season 2024'."""
    ordered = sorted(windows, key=lambda w: (w.start_date, w.label))
    labels = list(dict.fromkeys(w.label for w in ordered))
    text = " / ".join(labels)
    if ordered and all(w.scope is Scope.RACE_WEEK for w in ordered):
        return f"{text} weekend"
    return text


def pool_label(kind: str, region: str | None, units: int = 1) -> str:
    label = kind_label(kind, units)
    return f"{label} ({region})" if region else label


def request_label(request: SupportRequest) -> str:
    what = {
        RequestKind.NEW_TEAM: "first car",
        RequestKind.ADDITIONAL_CAR: "additional car",
        RequestKind.SPARE_CAR: "spare car",
    }[request.kind]
    return f"{request.team_label} {what}, {request.championship} {request.season}"


@dataclass(frozen=True, slots=True)
class LoadRow:
    """One resource at one event (or freight trip, or season) for the request.

    Peaks over the window: existing and added demand at their highest, capacity at its lowest,
    shortfall at its highest on the days the request adds demand.
    """

    pool_code: str
    pool_name: str
    kind: str
    region: str | None
    label: str
    event_names: tuple[str, ...]
    scope: Scope
    start_date: date
    end_date: date
    existing_demand: int
    added_demand: int
    capacity: int
    shortfall: int

    @property
    def period(self) -> str:
        return format_period(self.start_date, self.end_date)

    def describe(self) -> str:
        what = pool_label(self.kind, self.region, 2)
        status = f"short by {self.shortfall}" if self.shortfall else "fits"
        where = self.label if self.scope is Scope.SEASON else f"{self.label} ({self.period})"
        return (
            f"{where}, {what}: {self.existing_demand} committed + {self.added_demand} "
            f"requested, {self.capacity} available — {status}"
        )


@dataclass(frozen=True, slots=True)
class CapacityAddition:
    """The least extra capacity of one pool over one date range that removes a shortfall."""

    pool_code: str
    pool_name: str
    kind: str
    region: str | None
    start_date: date
    end_date: date
    units: int
    label: str
    pool_exists: bool = True

    def describe(self) -> str:
        what = pool_label(self.kind, self.region, self.units)
        if _is_whole_season(self.start_date, self.end_date):
            text = f"+{self.units} {what} for season {self.start_date.year}"
        else:
            text = f"+{self.units} {what} for {format_date_range(self.start_date, self.end_date)}"
            if self.label:
                text += f": {self.label}"
        return text if self.pool_exists else f"{text} (no such pool yet)"


@dataclass(frozen=True, slots=True)
class GridCheck:
    championship: str
    season: int
    committed_cars: int
    added_cars: int
    max_cars: int

    @property
    def violated(self) -> bool:
        return self.added_cars > 0 and self.committed_cars + self.added_cars > self.max_cars

    def describe(self) -> str:
        total = self.committed_cars + self.added_cars
        verdict = "over" if self.violated else "within"
        return (
            f"Grid: {self.championship} {self.season} would have {total} customer cars; "
            f"the policy allows {self.max_cars} ({verdict} the cap)."
        )


@dataclass(frozen=True, slots=True)
class BindingConstraint:
    """What stops the request first: the grid cap, else the earliest day short of capacity
    (ties: the largest shortfall, then the pool code)."""

    kind: Literal["grid_cap", "capacity"]
    description: str
    pool_code: str | None = None
    on_date: date | None = None
    shortfall: int = 0


@dataclass(frozen=True, slots=True)
class Evaluation:
    request: SupportRequest
    accepted: bool
    rows: tuple[LoadRow, ...]
    grid: GridCheck
    first_binding: BindingConstraint | None
    what_it_would_take: tuple[CapacityAddition, ...]
    grid_cap_needed: int | None
    reasons: tuple[str, ...]
    standard_version: int

    @property
    def shortfalls(self) -> tuple[LoadRow, ...]:
        return tuple(row for row in self.rows if row.shortfall)


def build_reasons(
    *,
    request: SupportRequest,
    accepted: bool,
    rows: Sequence[LoadRow],
    grid: GridCheck,
    first_binding: BindingConstraint | None,
    additions: Sequence[CapacityAddition],
    notes: Sequence[str],
) -> tuple[str, ...]:
    short_rows = [row for row in rows if row.shortfall]
    if accepted:
        headline = f"Accepted: {request_label(request)} — support capacity exists at every event."
    else:
        causes = []
        if grid.violated:
            causes.append("over the grid cap")
        if short_rows:
            causes.append(f"{len(short_rows)} support shortfall(s)")
        headline = f"Declined: {request_label(request)} — {' and '.join(causes)}."
    lines = [headline, *notes]
    if grid.added_cars:
        lines.append(grid.describe())
    lines.extend(row.describe() for row in short_rows)
    if first_binding is not None:
        lines.append(f"First binding constraint: {first_binding.description}.")
    if grid.violated:
        lines.append(
            f"To accept: raise the {grid.championship} {grid.season} grid cap to "
            f"{grid.committed_cars + grid.added_cars}."
        )
    lines.extend(f"To accept: {addition.describe()}." for addition in additions)
    return tuple(lines)
