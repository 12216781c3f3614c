"""The motorsport decision engine on hand-computed cases and against brute force."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paddock.motorsport.engine.calendars import (
    ALL_EVENTS,
    ASIA,
    EUROPE,
    IMSA,
    NORTH_AMERICA,
    RESULTS,
    WEC,
    WEC_2024,
    CalendarEvent,
    TeamEntry,
)
from paddock.motorsport.engine.demand import freight_chains
from paddock.motorsport.engine.explain import CapacityAddition, Evaluation, format_date_range
from paddock.motorsport.engine.solver import (
    DEFAULT_STANDARD,
    AppliesAt,
    DemandLine,
    FreightRules,
    GridPolicy,
    PoolBasis,
    RequestKind,
    ResourceKind,
    ResourcePool,
    Scope,
    SupportRequest,
    SupportStandard,
    Unavailability,
    ValueWeights,
    decide,
    evaluate,
    greedy,
    is_feasible,
)
from paddock.motorsport.engine.standard import results_by_team, standard_in_force

ENGINEER_ONLY = SupportStandard(
    version=1,
    effective_from=date(2024, 1, 1),
    lines=(DemandLine(ResourceKind.ENGINEER, first_car=1, per_additional_car=0),),
)
GLOBAL_ENGINEER = SupportStandard(
    version=1,
    effective_from=date(2024, 1, 1),
    lines=(DemandLine(ResourceKind.ENGINEER, 1, 0, pool_basis=PoolBasis.GLOBAL),),
)
KIT_ONLY = SupportStandard(
    version=1,
    effective_from=date(2024, 1, 1),
    lines=(
        DemandLine(
            ResourceKind.FREIGHT_KIT,
            1,
            1,
            scope=Scope.FREIGHT,
            applies_at=AppliesAt.FLYAWAY,
            pool_basis=PoolBasis.GLOBAL,
        ),
    ),
    freight=FreightRules(lead_days=21, return_days=21, transit_days=10),
)
LOOSE = GridPolicy(default_max_cars=10)


def request(
    code: str,
    team: str,
    championship: str = WEC,
    region: str = EUROPE,
    kind: RequestKind = RequestKind.NEW_TEAM,
    season: int = 2024,
) -> SupportRequest:
    return SupportRequest(code, team, kind, championship, season, region)


def entry(
    team: str, championship: str = WEC, region: str = EUROPE, spare: bool = False
) -> TeamEntry:
    return TeamEntry(team, championship, 2024, region, spare=spare)


def engineers(units: int, region: str | None = None, *gaps: Unavailability) -> ResourcePool:
    return ResourcePool(
        f"eng-{region or 'all'}", "Engineers", ResourceKind.ENGINEER, units, region, gaps
    )


def with_additions(
    pools: list[ResourcePool], additions: tuple[CapacityAddition, ...]
) -> list[ResourcePool]:
    """The pools with exactly the suggested extra units over exactly the suggested dates."""
    by_code = {p.code: p for p in pools}
    for add in additions:
        pool = by_code[add.pool_code]
        outside = (
            Unavailability(date(2000, 1, 1), add.start_date - timedelta(days=1), add.units),
            Unavailability(add.end_date + timedelta(days=1), date(2100, 1, 1), add.units),
        )
        by_code[add.pool_code] = replace(
            pool, units=pool.units + add.units, unavailability=pool.unavailability + outside
        )
    return list(by_code.values())


# --- One request ---


def test_accepts_when_every_event_has_an_engineer() -> None:
    result = evaluate(
        request("r", "jota"),
        [entry("proton")],
        [engineers(2, EUROPE)],
        ENGINEER_ONLY,
        LOOSE,
        WEC_2024,
    )
    assert result.accepted
    assert result.what_it_would_take == () and result.first_binding is None
    assert len(result.rows) == len(WEC_2024)  # prologue + 8 rounds, one engineer each
    assert {(r.existing_demand, r.added_demand, r.capacity) for r in result.rows} == {(1, 1, 2)}
    assert result.reasons[0].startswith("Accepted: jota first car, WEC 2024")


def test_declines_with_the_exact_shortfall_at_every_event() -> None:
    result = evaluate(
        request("r", "jota"),
        [entry("proton")],
        [engineers(1, EUROPE)],
        ENGINEER_ONLY,
        LOOSE,
        WEC_2024,
    )
    assert not result.accepted
    assert {(r.existing_demand, r.added_demand, r.capacity, r.shortfall) for r in result.rows} == {
        (1, 1, 1, 1)
    }
    # One engineer more over each race week: the prologue week is 20-25 Feb 2024.
    assert len(result.what_it_would_take) == len(WEC_2024)
    first = result.what_it_would_take[0]
    assert (first.start_date, first.end_date, first.units) == (
        date(2024, 2, 20),
        date(2024, 2, 25),
        1,
    )
    assert first.describe() == "+1 engineer (Europe) for 20–25 Feb 2024: Prologue weekend"
    assert result.first_binding is not None
    assert result.first_binding.on_date == date(2024, 2, 20)
    assert result.first_binding.kind == "capacity"
    assert with_additions_accepts(result, [engineers(1, EUROPE)], ENGINEER_ONLY, WEC_2024)


def with_additions_accepts(
    result: Evaluation,
    pools: list[ResourcePool],
    standard: SupportStandard,
    calendar: tuple[CalendarEvent, ...],
    commitments: tuple[TeamEntry, ...] = (entry("proton"),),
) -> bool:
    again = evaluate(
        result.request,
        commitments,
        with_additions(pools, result.what_it_would_take),
        standard,
        LOOSE,
        calendar,
    )
    return again.accepted


def test_leave_makes_only_that_week_short() -> None:
    leave = Unavailability(date(2024, 4, 19), date(2024, 4, 30), 1, "leave")
    result = evaluate(
        request("r", "jota"),
        [entry("proton")],
        [engineers(2, EUROPE, leave)],
        ENGINEER_ONLY,
        LOOSE,
        WEC_2024,
    )
    assert not result.accepted
    assert [(r.label, r.shortfall) for r in result.rows if r.shortfall] == [("Imola", 1)]
    (addition,) = result.what_it_would_take
    assert (addition.start_date, addition.end_date) == (date(2024, 4, 19), date(2024, 4, 21))


def test_same_weekend_in_two_series_needs_two_crews() -> None:
    # Imola (race week 17-21 Apr) and Long Beach (16-20 Apr); Spa (7-11 May) and Laguna Seca
    # (8-12 May): one shared engineer cannot cover both, anywhere else he can.
    calendar = ALL_EVENTS
    result = evaluate(
        request("r", "jdc-miller", IMSA, NORTH_AMERICA),
        [entry("jota")],
        [engineers(1)],
        GLOBAL_ENGINEER,
        LOOSE,
        calendar,
    )
    assert not result.accepted
    assert [(a.start_date, a.end_date, a.units) for a in result.what_it_would_take] == [
        (date(2024, 4, 17), date(2024, 4, 20), 1),
        (date(2024, 5, 8), date(2024, 5, 11), 1),
    ]
    assert [a.describe() for a in result.what_it_would_take] == [
        "+1 engineer for 17–20 Apr 2024: Long Beach / Imola weekend",
        "+1 engineer for 8–11 May 2024: Spa / Laguna Seca weekend",
    ]
    assert {r.label for r in result.rows if r.shortfall} == {"Long Beach", "Laguna Seca"}
    # Crews per region: the two series no longer compete for the same engineer.
    regional = evaluate(
        request("r", "jdc-miller", IMSA, NORTH_AMERICA),
        [entry("jota")],
        [engineers(1, EUROPE), engineers(1, NORTH_AMERICA)],
        ENGINEER_ONLY,
        LOOSE,
        calendar,
    )
    assert regional.accepted


def test_freight_kit_chains_cota_to_fuji() -> None:
    flyaways = [e for e in WEC_2024 if e.is_flyaway_for(EUROPE)]
    trips = freight_chains(flyaways, KIT_ONLY.freight)
    assert [[e.name for e in served] for _, _, served in trips] == [
        ["Prologue", "Qatar"],
        ["São Paulo"],
        ["COTA", "Fuji"],
        ["Bahrain"],
    ]
    # COTA ships 21 days before its race week (28 Aug): 7 Aug; Fuji's kit is back 21 days
    # after the race (15 Sep): 6 Oct.
    assert trips[2][:2] == (date(2024, 8, 7), date(2024, 10, 6))

    kits = [ResourcePool("kit", "Freight kits", ResourceKind.FREIGHT_KIT, 1)]
    chained = evaluate(request("r", "jota"), [], kits, KIT_ONLY, LOOSE, WEC_2024)
    assert chained.accepted
    assert max(r.added_demand for r in chained.rows) == 1

    unchained_standard = replace(KIT_ONLY, freight=replace(KIT_ONLY.freight, chaining=False))
    unchained = evaluate(request("r", "jota"), [], kits, unchained_standard, LOOSE, WEC_2024)
    assert not unchained.accepted
    # Without chaining the kit must go home between: Prologue back 17 Mar overlaps Qatar's
    # shipping from 6 Feb, Fuji ships 21 Aug before COTA's kit is back on 22 Sep.
    assert [(a.start_date, a.end_date, a.units) for a in unchained.what_it_would_take] == [
        (date(2024, 2, 6), date(2024, 3, 17), 1),
        (date(2024, 8, 21), date(2024, 9, 22), 1),
    ]
    assert unchained.what_it_would_take[1].label == "freight COTA / freight Fuji"


def test_freight_cannot_chain_when_transit_is_too_long() -> None:
    flyaways = [e for e in WEC_2024 if e.is_flyaway_for(EUROPE)]
    slow = FreightRules(lead_days=21, return_days=21, transit_days=20)
    names = [[e.name for e in served] for _, _, served in freight_chains(flyaways, slow)]
    assert ["COTA"] in names and ["Fuji"] in names
    assert ["Prologue", "Qatar"] in names  # same venue: no transit


def test_home_events_need_no_freight() -> None:
    kits = [ResourcePool("kit", "Freight kits", ResourceKind.FREIGHT_KIT, 0)]
    result = evaluate(
        request("r", "jdc-miller", IMSA, NORTH_AMERICA), [], kits, KIT_ONLY, LOOSE, ALL_EVENTS
    )
    assert result.accepted and result.rows == ()


def test_grid_cap_declines_a_third_car_but_not_a_spare() -> None:
    committed = [entry("jota"), entry("proton")]
    pools = [engineers(5, EUROPE)]
    third = evaluate(
        request("r", "jota", kind=RequestKind.ADDITIONAL_CAR),
        committed,
        pools,
        ENGINEER_ONLY,
        GridPolicy(),
        WEC_2024,
    )
    assert not third.accepted
    assert third.grid.violated and third.grid_cap_needed == 3
    assert third.first_binding is not None and third.first_binding.kind == "grid_cap"
    assert "To accept: raise the WEC 2024 grid cap to 3." in third.reasons
    assert third.what_it_would_take == ()  # capacity is not the problem

    spare = evaluate(
        request("s", "jota", kind=RequestKind.SPARE_CAR),
        committed,
        pools,
        ENGINEER_ONLY,
        GridPolicy(),
        WEC_2024,
    )
    assert spare.accepted and not spare.grid.violated

    raised = GridPolicy(max_cars_by_series={WEC: 3})
    assert evaluate(third.request, committed, pools, ENGINEER_ONLY, raised, WEC_2024).accepted


def test_second_car_needs_less_than_a_new_teams_first_car() -> None:
    pools = [*_ample_pools()]
    committed = [entry("jota")]
    second = evaluate(
        request("a", "jota", kind=RequestKind.ADDITIONAL_CAR),
        committed,
        pools,
        DEFAULT_STANDARD,
        LOOSE,
        ALL_EVENTS,
    )
    newcomer = evaluate(
        request("b", "united"), committed, pools, DEFAULT_STANDARD, LOOSE, ALL_EVENTS
    )

    def added(kind: str, evaluation: Evaluation) -> int:
        return sum(r.added_demand for r in evaluation.rows if r.kind == kind)

    events = len(WEC_2024)
    assert added(ResourceKind.ENGINEER, second) == 0
    assert added(ResourceKind.ENGINEER, newcomer) == events
    assert added(ResourceKind.DATA_SPECIALIST, second) == events  # data is per car
    total_second = sum(r.added_demand for r in second.rows)
    total_new = sum(r.added_demand for r in newcomer.rows)
    assert total_second < total_new
    assert any("Shares with jota's 1 existing car(s)" in line for line in second.reasons)


def test_spare_car_needs_no_trackside_crew() -> None:
    pools = [
        p
        for p in _ample_pools()
        if p.kind
        not in (
            ResourceKind.ENGINEER,
            ResourceKind.DATA_SPECIALIST,
            ResourceKind.PARTS_SPECIALIST,
            ResourceKind.PARTS_TRUCK,
        )
    ]
    result = evaluate(
        request("s", "jdc-miller", IMSA, NORTH_AMERICA, RequestKind.SPARE_CAR),
        [entry("jdc-miller", IMSA, NORTH_AMERICA)],
        pools,
        DEFAULT_STANDARD,
        GridPolicy(),
        ALL_EVENTS,
    )
    assert result.accepted
    assert {r.kind for r in result.rows} == {ResourceKind.REBUILD_SLOT, ResourceKind.SPARE_STOCK}
    assert {r.label for r in result.rows} == {"season 2024"}
    assert [r.added_demand for r in result.rows] == [1, 2]  # per_spare_car of each line


def test_missing_pool_is_reported_as_one_to_create() -> None:
    trucks = SupportStandard(
        1,
        date(2024, 1, 1),
        (
            DemandLine(
                ResourceKind.PARTS_TRUCK,
                1,
                0,
                applies_at=AppliesAt.ALL_EVENTS,
                pool_basis=PoolBasis.EVENT,
            ),
        ),
    )
    pools = [ResourcePool("truck-eu", "Trucks", ResourceKind.PARTS_TRUCK, 2, EUROPE)]
    result = evaluate(request("r", "jota"), [], pools, trucks, LOOSE, WEC_2024)
    assert not result.accepted
    fuji = [a for a in result.what_it_would_take if a.region == ASIA]
    assert [a.describe() for a in fuji] == [
        "+1 parts truck (Asia) for 11–15 Sep 2024: Fuji weekend (no such pool yet)"
    ]


def test_season_shortfall_is_worded_per_season() -> None:
    rebuilds = SupportStandard(
        1,
        date(2024, 1, 1),
        (
            DemandLine(
                ResourceKind.REBUILD_SLOT, 2, 2, 1, scope=Scope.SEASON, pool_basis=PoolBasis.GLOBAL
            ),
        ),
    )
    pools = [ResourcePool("rebuild", "Rebuild slots", ResourceKind.REBUILD_SLOT, 3)]
    result = evaluate(request("r", "jota"), [entry("proton")], pools, rebuilds, LOOSE, WEC_2024)
    assert [a.describe() for a in result.what_it_would_take] == ["+1 rebuild slot for season 2024"]
    assert result.rows[0].describe() == (
        "season 2024, rebuild slots: 2 committed + 2 requested, 3 available — short by 1"
    )


def test_standard_versions_and_validation() -> None:
    v2 = replace(DEFAULT_STANDARD, version=2, effective_from=date(2025, 1, 1))
    assert standard_in_force([DEFAULT_STANDARD, v2], date(2024, 6, 1)).version == 1
    assert standard_in_force([DEFAULT_STANDARD, v2], date(2025, 6, 1)).version == 2
    with pytest.raises(ValueError, match="no support standard"):
        standard_in_force([v2], date(2024, 6, 1))
    with pytest.raises(ValueError, match="cannot need more than the first"):
        DemandLine(ResourceKind.ENGINEER, first_car=1, per_additional_car=2)
    with pytest.raises(ValueError, match="no calendar events for WEC 2026"):
        evaluate(request("r", "jota", season=2026), [], [], ENGINEER_ONLY, LOOSE, WEC_2024)
    # A commitment in a season with no calendar holds no event demand, and does not fail.
    past = replace(entry("jota"), season=2023)
    assert evaluate(
        request("r", "jota"), [past], [engineers(1, EUROPE)], ENGINEER_ONLY, LOOSE, WEC_2024
    ).accepted


def test_value_weights_use_priority_strategy_and_results() -> None:
    records = results_by_team(RESULTS)
    assert (records["jota"].wins, records["jota"].podiums) == (1, 1)
    assert (records["proton"].wins, records["proton"].podiums) == (0, 1)
    weights = ValueWeights(
        team_priority={"jota": 3},
        strategic_weight={WEC: 2},
        team_results=records,
        win_bonus=5,
        podium_bonus=1,
    )
    assert weights.value(request("r", "jota")) == 3 * 2 + 5 + 1
    assert weights.value(request("r", "proton", IMSA)) == 1 * 1 + 1


def _ample_pools() -> list[ResourcePool]:
    return [
        ResourcePool("eng-eu", "Engineers EU", ResourceKind.ENGINEER, 9, EUROPE),
        ResourcePool("eng-na", "Engineers NA", ResourceKind.ENGINEER, 9, NORTH_AMERICA),
        ResourcePool("data", "Data", ResourceKind.DATA_SPECIALIST, 9),
        ResourcePool("parts", "Parts", ResourceKind.PARTS_SPECIALIST, 9),
        ResourcePool("truck-eu", "Trucks EU", ResourceKind.PARTS_TRUCK, 9, EUROPE),
        ResourcePool("truck-na", "Trucks NA", ResourceKind.PARTS_TRUCK, 9, NORTH_AMERICA),
        ResourcePool("kit", "Kits", ResourceKind.FREIGHT_KIT, 9),
        ResourcePool("rebuild", "Rebuilds", ResourceKind.REBUILD_SLOT, 99),
        ResourcePool("spares-eu", "Spares EU", ResourceKind.SPARE_STOCK, 99, EUROPE),
        ResourcePool("spares-na", "Spares NA", ResourceKind.SPARE_STOCK, 99, NORTH_AMERICA),
    ]


# --- A set of requests ---

REBUILDS = SupportStandard(
    1,
    date(2024, 1, 1),
    (
        DemandLine(
            ResourceKind.REBUILD_SLOT, 2, 2, 1, scope=Scope.SEASON, pool_basis=PoolBasis.GLOBAL
        ),
    ),
)


def test_decide_beats_arrival_order_when_a_low_value_request_comes_first() -> None:
    # Two rebuild slots: room for one race car (2 slots) or two spare cars (1 slot each).
    pools = [ResourcePool("rebuild", "Rebuild slots", ResourceKind.REBUILD_SLOT, 2)]
    requests = [
        request("early", "a", kind=RequestKind.NEW_TEAM),
        request("spare-b", "b", kind=RequestKind.SPARE_CAR),
        request("spare-c", "c", kind=RequestKind.SPARE_CAR),
    ]
    weights = ValueWeights(team_priority={"a": 3, "b": 2, "c": 2})
    decision = decide(
        requests,
        [],
        pools,
        REBUILDS,
        LOOSE,
        weights,
        calendar=WEC_2024,
        num_workers=1,
        random_seed=7,
    )
    assert decision.status == "OPTIMAL" and decision.proven_optimal
    assert decision.objective_value == 4 and decision.best_bound == 4 and decision.gap == 0
    assert set(decision.accepted_codes) == {"spare-b", "spare-c"}
    assert decision.greedy.accepted_codes == ("early",) and decision.greedy.value == 3
    assert decision.comparison.gain == 1
    assert decision.comparison.accepted_only_by_greedy == ("early",)
    (why_not,) = decision.declined_explanations
    assert why_not.request.code == "early" and not why_not.accepted
    assert [a.describe() for a in why_not.what_it_would_take] == [
        "+2 rebuild slots for season 2024"
    ]


def test_decide_respects_the_grid_cap_and_shares_support() -> None:
    # One engineer per region: jota's second car shares it, a new team cannot have one.
    pools = [engineers(1, EUROPE)]
    requests = [
        request("new", "united"),
        request("second", "jota", kind=RequestKind.ADDITIONAL_CAR),
    ]
    weights = ValueWeights(team_priority={"united": 5, "jota": 1})
    decision = decide(
        requests,
        [entry("jota")],
        pools,
        ENGINEER_ONLY,
        GridPolicy(),
        weights,
        calendar=WEC_2024,
        num_workers=1,
        random_seed=1,
    )
    assert decision.accepted_codes == ("second",)
    capped = decide(
        requests,
        [entry("jota"), entry("proton")],
        pools,
        ENGINEER_ONLY,
        GridPolicy(),
        weights,
        calendar=WEC_2024,
        num_workers=1,
        random_seed=1,
    )
    assert capped.accepted_codes == () and capped.objective_value == 0


def test_two_new_cars_of_one_team_share_like_a_pair() -> None:
    # A team with no car yet asks for two: together they need one engineer, not two.
    pools = [engineers(1, EUROPE)]
    requests = [request("one", "united"), request("two", "united")]
    decision = decide(
        requests,
        [],
        pools,
        ENGINEER_ONLY,
        LOOSE,
        ValueWeights(),
        calendar=WEC_2024,
        num_workers=1,
        random_seed=1,
    )
    assert set(decision.accepted_codes) == {"one", "two"}
    result = greedy(requests, [], pools, ENGINEER_ONLY, LOOSE, ValueWeights(), calendar=WEC_2024)
    assert result.accepted_codes == ("one", "two")


# --- Against brute force ---

TEAMS = ("a", "b", "c")
REGIONS = (EUROPE, NORTH_AMERICA, ASIA)
PROPERTY_STANDARD = SupportStandard(
    version=1,
    effective_from=date(2024, 1, 1),
    lines=(
        DemandLine(ResourceKind.ENGINEER, 1, 0),
        DemandLine(ResourceKind.DATA_SPECIALIST, 1, 1, pool_basis=PoolBasis.GLOBAL),
        DemandLine(
            ResourceKind.FREIGHT_KIT,
            1,
            1,
            scope=Scope.FREIGHT,
            applies_at=AppliesAt.FLYAWAY,
            pool_basis=PoolBasis.GLOBAL,
        ),
        DemandLine(
            ResourceKind.REBUILD_SLOT, 2, 2, 1, scope=Scope.SEASON, pool_basis=PoolBasis.GLOBAL
        ),
    ),
    freight=FreightRules(lead_days=5, return_days=5, transit_days=3),
)


@st.composite
def small_calendars(draw: st.DrawFn) -> tuple[CalendarEvent, ...]:
    events = []
    for championship in (WEC, IMSA):
        for number in range(draw(st.integers(1, 3))):
            start = date(2024, 3, 1) + timedelta(days=draw(st.integers(0, 40)))
            events.append(
                CalendarEvent(
                    championship,
                    2024,
                    f"Round {number}",
                    f"Venue {championship} {number}",
                    "X",
                    draw(st.sampled_from(REGIONS)),
                    start,
                    start + timedelta(days=draw(st.integers(0, 1))),
                    short_name=f"{championship}{number}",
                    setup_days=draw(st.integers(0, 3)),
                )
            )
    return tuple(events)


@st.composite
def instances(draw: st.DrawFn) -> dict[str, object]:
    calendar = draw(small_calendars())
    gap_start = date(2024, 3, 1) + timedelta(days=draw(st.integers(0, 40)))
    pools = [
        ResourcePool(
            "eng-eu",
            "Engineers EU",
            ResourceKind.ENGINEER,
            draw(st.integers(1, 3)),
            EUROPE,
            (Unavailability(gap_start, gap_start + timedelta(days=5), draw(st.integers(0, 1))),),
        ),
        ResourcePool(
            "eng-na", "Engineers NA", ResourceKind.ENGINEER, draw(st.integers(1, 3)), NORTH_AMERICA
        ),
        ResourcePool(
            "eng-asia", "Engineers Asia", ResourceKind.ENGINEER, draw(st.integers(1, 2)), ASIA
        ),
        ResourcePool("data", "Data", ResourceKind.DATA_SPECIALIST, draw(st.integers(1, 6))),
        ResourcePool("kit", "Kits", ResourceKind.FREIGHT_KIT, draw(st.integers(1, 4))),
        ResourcePool("rebuild", "Rebuilds", ResourceKind.REBUILD_SLOT, draw(st.integers(2, 14))),
    ]
    standard = replace(
        PROPERTY_STANDARD, freight=replace(PROPERTY_STANDARD.freight, chaining=draw(st.booleans()))
    )
    cars = st.tuples(
        st.sampled_from(TEAMS),
        st.sampled_from((WEC, IMSA)),
        st.sampled_from(REGIONS[:2]),
        st.booleans(),
    )
    commitments = [
        TeamEntry(team, series, 2024, region, spare=spare)
        for team, series, region, spare in draw(st.lists(cars, max_size=3))
    ]
    asked = draw(st.lists(cars, min_size=1, max_size=8))
    requests = [
        SupportRequest(
            f"r{i}",
            team,
            RequestKind.SPARE_CAR if spare else RequestKind.NEW_TEAM,
            series,
            2024,
            region,
        )
        for i, (team, series, region, spare) in enumerate(asked)
    ]
    weights = ValueWeights(
        team_priority={team: draw(st.integers(1, 5)) for team in TEAMS},
        strategic_weight={WEC: draw(st.integers(1, 3)), IMSA: draw(st.integers(1, 3))},
    )
    policy = GridPolicy(default_max_cars=draw(st.integers(1, 4)))
    return {
        "calendar": calendar,
        "pools": pools,
        "standard": standard,
        "commitments": commitments,
        "requests": requests,
        "weights": weights,
        "policy": policy,
    }


@settings(max_examples=60, deadline=None)
@given(instances())
def test_decide_equals_brute_force_and_beats_greedy(instance: dict[str, object]) -> None:
    calendar = instance["calendar"]
    pools = instance["pools"]
    standard = instance["standard"]
    commitments = instance["commitments"]
    requests = instance["requests"]
    weights = instance["weights"]
    policy = instance["policy"]
    assert isinstance(calendar, tuple) and isinstance(pools, list)
    assert isinstance(standard, SupportStandard) and isinstance(commitments, list)
    assert isinstance(requests, list) and isinstance(weights, ValueWeights)
    assert isinstance(policy, GridPolicy)

    best = 0
    for size in range(1, len(requests) + 1):
        for subset in itertools.combinations(requests, size):
            value = sum(weights.value(r) for r in subset)
            if value > best and is_feasible(subset, commitments, pools, standard, policy, calendar):
                best = value

    decision = decide(
        requests,
        commitments,
        pools,
        standard,
        policy,
        weights,
        calendar=calendar,
        num_workers=1,
        random_seed=3,
    )
    chosen = [r for r in requests if r.code in decision.accepted_codes]
    assert decision.status == "OPTIMAL"
    assert decision.objective_value == best
    assert is_feasible(chosen, commitments, pools, standard, policy, calendar)
    greedy_chosen = [r for r in requests if r.code in decision.greedy.accepted_codes]
    assert is_feasible(greedy_chosen, commitments, pools, standard, policy, calendar)
    assert decision.greedy.value <= decision.objective_value


@settings(max_examples=60, deadline=None)
@given(instances())
def test_what_it_would_take_is_enough_and_no_more(instance: dict[str, object]) -> None:
    calendar = instance["calendar"]
    pools = instance["pools"]
    standard = instance["standard"]
    commitments = instance["commitments"]
    requests = instance["requests"]
    assert isinstance(calendar, tuple) and isinstance(pools, list)
    assert isinstance(standard, SupportStandard) and isinstance(commitments, list)
    assert isinstance(requests, list)
    result = evaluate(requests[0], commitments, pools, standard, LOOSE, calendar)
    assert result.accepted == (not result.what_it_would_take)
    if result.accepted:
        return
    enough = evaluate(
        requests[0],
        commitments,
        with_additions(pools, result.what_it_would_take),
        standard,
        LOOSE,
        calendar,
    )
    assert enough.accepted
    # One unit less on any single day of any addition is not enough.
    for index, addition in enumerate(result.what_it_would_take):
        day = addition.start_date
        fewer = list(result.what_it_would_take)
        fewer[index] = replace(addition, units=addition.units - 1, end_date=day)
        rest = replace(addition, start_date=day + timedelta(days=1))
        if rest.start_date <= rest.end_date:
            fewer.append(rest)
        short = evaluate(
            requests[0],
            commitments,
            with_additions(pools, tuple(a for a in fewer if a.units)),
            standard,
            LOOSE,
            calendar,
        )
        assert not short.accepted, format_date_range(addition.start_date, addition.end_date)
