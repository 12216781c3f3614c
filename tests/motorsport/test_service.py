"""The motorsport service on the database, SQLite and PostgreSQL: the demo's situation, recorded
decisions holding capacity on the shared core, the versioned standard, the policy, calendar
imports, results and the service level."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from paddock.capacity.models import Allocation, Pool, Unit
from paddock.errors import Busy, Conflict, Invalid, NotFound
from paddock.motorsport import models as orm
from paddock.motorsport import service
from paddock.motorsport.capacity_view import ENGAGEMENT
from paddock.motorsport.errors import SupportCapacityExceeded
from paddock.motorsport.schemas import StandardLineIO
from tests.motorsport.conftest import JDC, JOTA, PROTON


def allocations(session: Session, entry_id: int | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Allocation)
        .where(Allocation.engagement_kind == ENGAGEMENT, Allocation.active.is_(True))
    )
    if entry_id is not None:
        query = query.where(Allocation.engagement_id == entry_id)
    return session.scalar(query) or 0


def test_demo_round_trip(demo: Session) -> None:
    series = {c.code: c for c in service.list_championships(demo)}
    assert series["WEC"].seasons == [2023, 2024, 2025] == series["IMSA"].seasons
    assert (series["WEC"].max_customer_cars, series["IMSA"].max_customer_cars) == (3, None)
    calendar = service.season_calendar(demo, year=2024)
    assert len(calendar) == 18
    imola = next(e for e in calendar if e.name == "Imola")
    assert (imola.race_week_start_date, imola.race_week_end_date) == (
        date(2024, 4, 17),
        date(2024, 4, 21),
    )
    assert imola.clashes_with == ["IMSA Long Beach"]
    assert [e.name for e in service.season_calendar(demo, year=2023)] == ["Petit Le Mans"]

    entries = service.list_entries(demo, year=2024)
    assert sorted((e.team, e.championship, e.car_number) for e in entries) == [
        ("jdc-miller", "IMSA", "85"),
        ("jota", "WEC", "38"),
        ("proton", "IMSA", "5"),
        ("proton", "WEC", "99"),
    ]
    # Every entered car holds its support on the capacity core.
    assert all(service.entry_allocations(demo, entry_id=e.id) > 0 for e in entries)
    chassis = {c.serial: c for c in service.list_chassis(demo)}
    assert len(chassis) == 4 and {
        c.delivered_on.year for c in chassis.values() if c.delivered_on
    } == {2023}
    assert chassis["963-C02"].entries == ["IMSA 2023 #5", "IMSA 2024 #5"]
    proton = service.get_team(demo, team="Proton")
    assert proton.priority == 2 and proton.results is not None
    assert [(r.event_name, r.car_number, r.position) for r in proton.results] == [
        ("Petit Le Mans", "5", 3)
    ]
    assert service.get_standard(demo).version == 1

    pools = {p.code: p for p in service.list_resources(demo, year=2024)}
    assert pools["data"].units == 6 and pools["data"].region is None
    assert pools["eng-eu"].region == "Europe" and pools["eng-eu"].units == 3
    assert [
        (u.start_date, u.end_date, u.units, u.reason) for u in pools["data"].unavailability
    ] == [(date(2024, 4, 15), date(2024, 4, 19), 1, "factory endurance test")]
    requests = service.list_requests(demo, year=2024)
    assert [r.code for r in requests] == [PROTON, JOTA, JDC]
    assert {r.status for r in requests} == {"open"}


def test_each_request_fits_on_its_own(demo: Session) -> None:
    for code in (JOTA, PROTON, JDC):
        result = service.evaluate_request(demo, code=code)
        assert result.read.verdict == "accept", result.read.reasons
    jota = service.evaluate_request(demo, code=JOTA).read
    imola = next(r for r in jota.rows if r.label == "Imola" and r.kind == "data_specialist")
    # Four cars' data specialists already there, one away at the factory test: 5 of 5 used.
    assert (imola.committed, imola.requested, imola.capacity, imola.shortfall) == (4, 1, 5, 0)
    assert not any(r.requested for r in jota.rows if r.kind == "engineer")  # shared
    spare = service.evaluate_request(demo, code=JDC).read
    assert {r.kind for r in spare.rows} == {"rebuild_slot", "spare_stock"}
    what_if = service.evaluate_what_if(
        demo, team="Jota", championship="WEC", year=2024, kind="second-car"
    )
    assert what_if.stored_request == JOTA and what_if.read.accepted


def test_decide_2024_takes_jota_and_the_spare_and_says_what_proton_would_take(
    demo: Session,
) -> None:
    decided = service.decide_season(demo, year=2024, num_workers=2, random_seed=0).read
    assert set(decided.accepted) == {JOTA, JDC} and decided.declined == [PROTON]
    assert decided.status == "OPTIMAL" and decided.proven_optimal
    assert (decided.objective, decided.best_bound, decided.gap) == (13, 13.0, 0.0)
    assert decided.values == {PROTON: 7, JOTA: 9, JDC: 4}
    assert decided.greedy.accepted == [PROTON, JDC] and decided.greedy.value == 11
    assert decided.comparison.gain == 2
    (proton,) = decided.declined_explanations
    assert proton.first_binding is not None and proton.first_binding.kind == "grid_cap"
    assert proton.grid_cap_needed == 4
    (addition,) = proton.what_it_would_take
    assert (addition.pool, addition.start_date, addition.end_date, addition.units) == (
        "data",
        date(2024, 4, 17),
        date(2024, 4, 19),
        1,
    )
    assert addition.description == (
        "+1 data specialist for 17–19 Apr 2024: Long Beach / Imola weekend"
    )


def test_recording_creates_entries_and_allocations_and_refuses_a_second_time(
    demo: Session,
) -> None:
    before = allocations(demo)
    record = service.record_decision(
        demo, year=2024, use_optimum=True, decided_by="Programme manager", rationale="Article"
    )
    outcomes = {o.request: o for o in record.requests}
    assert outcomes[JOTA].outcome == "accepted" and outcomes[JOTA].car_number == "12"
    assert outcomes[JDC].outcome == "accepted" and outcomes[JDC].car_number is None
    assert outcomes[PROTON].outcome == "declined"
    assert "To accept: +1 data specialist for 17–19 Apr 2024" in outcomes[PROTON].reasons[-1]
    jota_entry = outcomes[JOTA].entry_id
    assert jota_entry is not None
    # Jota's second car adds a data specialist at each of 9 events, a freight kit on 4 trips,
    # 2 rebuild slots and 1 spares set: 16 allocations; the spare 1 rebuild slot + 2 sets.
    assert outcomes[JOTA].allocations == allocations(demo, jota_entry) == 16
    assert outcomes[JDC].allocations == 3
    assert allocations(demo) == before + 19
    pools = dict(
        demo.execute(
            select(Pool.code, func.count())
            .join(Allocation, Allocation.pool_id == Pool.id)
            .where(Allocation.engagement_id == jota_entry, Allocation.engagement_kind == ENGAGEMENT)
            .group_by(Pool.code)
        ).all()
    )
    assert pools == {"data": 9, "kit": 4, "rebuild": 2, "spares-eu": 1}
    stored = service.get_decision(demo, decision_id=record.id)
    assert stored.decided_by == "Programme manager" and stored.standard_version == 1
    assert stored.capacity_snapshot is not None
    assert {p["code"] for p in stored.capacity_snapshot["pools"]} >= {"data", "eng-eu", "kit"}
    assert len(stored.capacity_snapshot["commitments"]) == 4
    assert stored.result["set_decision"]["objective"] == 13
    assert stored.result["evaluations"][PROTON]["verdict"] == "decline"
    statuses = {r.code: r.status for r in service.list_requests(demo, year=2024)}
    assert statuses == {JOTA: "accepted", JDC: "accepted", PROTON: "declined"}

    # The same decision again: already decided.
    with pytest.raises(Conflict, match="already accepted"):
        service.record_decision(demo, year=2024, accept=[JOTA], decided_by="Programme manager")
    # Proton, now evaluated on top of Jota: declined for the grid and the data specialists.
    again = service.evaluate_request(demo, code=PROTON).read
    assert again.verdict == "decline" and [s.label for s in again.shortfalls] == ["Imola"]


def test_an_identical_request_is_refused_once_the_capacity_is_taken(demo: Session) -> None:
    service.update_policy(
        demo, max_cars_by_series={"WEC": 10}, actor="pm"
    )  # only capacity can bind
    service.record_decision(demo, year=2024, accept=[JOTA], decided_by="pm")
    twin = service.create_request(
        demo,
        team="jota",
        championship="WEC",
        year=2024,
        kind="second-car",
        car_number="13",
        actor="pm",
    )
    assert twin.code == JOTA + "-2"
    entries, held = len(service.list_entries(demo, year=2024)), allocations(demo)
    with pytest.raises(SupportCapacityExceeded) as refused:
        service.record_decision(demo, year=2024, accept=[twin.code], decided_by="pm")
    assert "17–19 Apr 2024" in refused.value.detail
    assert refused.value.extra["evaluation"]["first_binding"]["pool"] == "data"
    # Nothing half-written.
    assert len(service.list_entries(demo, year=2024)) == entries and allocations(demo) == held
    assert service.get_request(demo, code=twin.code).status == "open"
    declined = service.record_decision(demo, year=2024, decline=[twin.code], decided_by="pm")
    assert declined.requests[0].reasons[0].startswith("Declined: Hertz Team Jota additional car")


def test_capacity_held_elsewhere_on_the_core_counts(demo: Session) -> None:
    """Another engagement holding data specialists (say a factory programme) takes them away
    from customer racing: the same pools, one invariant."""
    week = (datetime(2024, 5, 6, tzinfo=UTC), datetime(2024, 5, 13, tzinfo=UTC))
    busy = select(Allocation.unit_id).where(
        Allocation.active.is_(True), Allocation.starts_at < week[1], Allocation.ends_at > week[0]
    )
    data_units = demo.scalars(
        select(Unit.id)
        .join(Unit.pools)
        .where(Pool.code == "data", Unit.id.not_in(busy))
        .order_by(Unit.id)
    ).all()
    assert len(data_units) == 2  # 6 data specialists, 4 with the committed cars at Spa
    pool_id = demo.scalar(select(Pool.id).where(Pool.code == "data"))
    demo.execute(
        insert(Allocation),
        [
            {
                "engagement_kind": "factory_programme",
                "engagement_id": 1,
                "unit_id": unit_id,
                "pool_id": pool_id,
                "starts_at": week[0],
                "ends_at": week[1],
                "active": True,
                "expires_at": None,
            }
            for unit_id in data_units
        ],
    )
    demo.commit()
    result = service.evaluate_request(demo, code=JOTA).read
    assert result.verdict == "decline"
    assert [s.label for s in result.shortfalls] == ["Spa"]
    assert result.first_binding is not None and result.first_binding.pool == "data"


def test_concurrent_decisions_never_overbook(
    demo: Session, session_factory: sessionmaker[Session]
) -> None:
    """Jota's and Proton's second cars recorded at the same moment by two people: the grid
    cap and the data specialists allow only one; exactly one wins."""
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def decide(code: str) -> None:
        with session_factory() as own:
            barrier.wait()
            try:
                service.record_decision(own, year=2024, accept=[code], decided_by=code)
                result = "accepted"
            except SupportCapacityExceeded:
                result = "refused"
            except Busy:
                result = "busy"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=decide, args=(c,)) for c in (JOTA, PROTON)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("accepted") == 1
    assert sorted(outcomes) in (["accepted", "refused"], ["accepted", "busy"])
    demo.expire_all()
    wec = [e for e in service.list_entries(demo, year=2024) if e.championship == "WEC"]
    assert len(wec) == 3


def test_standard_versions_are_kept_and_decisions_keep_theirs(demo: Session) -> None:
    record = service.record_decision(demo, year=2024, decline=[JDC], decided_by="pm")
    current = service.get_standard(demo)
    lines = [
        StandardLineIO(**line.model_dump())
        if line.kind != "data_specialist"
        else StandardLineIO(**{**line.model_dump(), "first_car": 2, "per_additional_car": 2})
        for line in current.lines
    ]
    v2 = service.new_standard_version(
        demo, lines=lines, note="two data engineers per car", actor="pm"
    )
    assert v2.version == 2 and v2.effective_from == date(2023, 1, 1)
    assert [s.version for s in service.list_standards(demo)] == [1, 2]
    assert service.get_standard(demo, version=1).in_force_for == []
    assert service.get_standard(demo, version=2).in_force_for == [2023, 2024, 2025]
    # The data specialists no longer suffice for Jota's car; the recorded decision keeps v1.
    jota = service.evaluate_request(demo, code=JOTA).read
    assert jota.standard_version == 2 and jota.verdict == "decline"
    assert service.get_decision(demo, decision_id=record.id).standard_version == 1
    # A version from 2025 leaves 2024 on version 2.
    service.new_standard_version(
        demo, lines=current.lines, effective_from=date(2025, 1, 1), actor="pm"
    )
    assert service.evaluate_request(demo, code=JOTA).read.standard_version == 2
    assert service.get_standard(demo, version=3).in_force_for == [2025]
    bad = StandardLineIO(kind="engineer", first_car=1, per_additional_car=2)
    with pytest.raises(Invalid, match="cannot need more than the first"):
        service.new_standard_version(demo, lines=[bad], actor="pm")


def test_policy_and_weights_are_editable(demo: Session) -> None:
    service.update_team(demo, team="proton", priority=3, actor="pm")
    policy = service.update_policy(demo, max_cars_by_series={"WEC": 4}, actor="pm")
    assert policy.max_cars_by_series == {"WEC": 4} and policy.team_priority["proton"] == 3
    decided = service.decide_season(demo, year=2024).read
    # Proton now weighs 3 x 3 + 1 podium = 10 > Jota's 9; the Imola data specialists still
    # allow only one of the two second cars.
    assert set(decided.accepted) == {PROTON, JDC} and decided.objective == 14
    with pytest.raises(Invalid, match="0 or more"):
        service.update_policy(demo, default_max_cars=-1, actor="pm")
    with pytest.raises(NotFound, match="No championship 'ELMS'"):
        service.update_policy(demo, max_cars_by_series={"ELMS": 2}, actor="pm")


CSV_2026 = """championship,season,round,venue,country,region,start_date,end_date,flyaway
WEC,2026,Prologue,Lusail International Circuit,Qatar,Middle East,2026-02-20,2026-02-21,
WEC,2026,Qatar 1812 km,Lusail International Circuit,Qatar,Middle East,2026-02-28,,
WEC,2026,6 Hours of Imola,Imola,Italy,Europe,2026-04-19,,no
"""

ICS_2026 = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1@test
SUMMARY:Petit Le Mans
LOCATION:Michelin Raceway Road Atlanta, USA
DTSTART;VALUE=DATE:20261003
DTEND;VALUE=DATE:20261004
END:VEVENT
END:VCALENDAR
"""


def test_import_season_is_all_or_nothing(demo: Session) -> None:
    result = service.import_season(demo, data=CSV_2026, fmt="csv")
    assert [(s.championship, s.year, len(s.events or [])) for s in result.seasons] == [
        ("WEC", 2026, 3)
    ]
    assert [e.name for e in service.season_calendar(demo, year=2026)] == [
        "Prologue",
        "Qatar 1812 km",
        "6 Hours of Imola",
    ]
    with pytest.raises(Conflict, match="already has 3 event"):
        service.import_season(demo, data=CSV_2026, fmt="csv")
    replaced = service.import_season(demo, data=CSV_2026, fmt="csv", replace=True)
    assert replaced.replaced == 3

    bad = CSV_2026.replace("2026-02-28,,", "2026-02-30,,").replace("Europe,2026", ",2026")
    with pytest.raises(Invalid) as caught:
        service.import_season(demo, data=bad.replace("WEC,2026", "WEC,2027"), fmt="csv")
    assert caught.value.extra["errors"] == [
        "line 3: start_date '2026-02-30' is not a date (YYYY-MM-DD)",
        "line 4: empty region",
    ]
    unknown = CSV_2026.replace("WEC,2026,6 Hours", "ELMS,2026,6 Hours").replace("2026", "2027")
    with pytest.raises(Invalid, match="unknown championship 'ELMS'"):
        service.import_season(demo, data=unknown, fmt="csv")
    assert 2027 not in next(c for c in service.list_championships(demo) if c.code == "WEC").seasons

    ics = service.import_season(demo, data=ICS_2026, fmt="ics", championship="IMSA")
    assert ics.seasons[0].year == 2026 and ics.seasons[0].events is not None
    assert ics.seasons[0].events[0].region == "North America"
    with pytest.raises(Invalid, match="needs the championship"):
        service.import_season(demo, data=ICS_2026, fmt="ics")
    with pytest.raises(Invalid, match="not an iCalendar file"):
        service.import_season(demo, data="nonsense", fmt="ics", championship="IMSA")


def test_results_weigh_only_seasons_before_and_the_service_level(demo: Session) -> None:
    service.record_decision(demo, year=2024, accept=[JOTA], decided_by="pm")
    win = service.record_result(
        demo, championship="WEC", year=2024, car_number="12", event="Spa", position=1, actor="pm"
    )
    assert (win.team, win.event_name, win.position) == ("jota", "Spa", 1)
    assert [r.position for r in service.list_results(demo, year=2024)] == [1]
    with pytest.raises(NotFound, match="No car #7"):
        service.record_result(
            demo, championship="WEC", year=2024, car_number="7", event="Spa", position=2, actor="pm"
        )
    # 2025 values count Jota's 2024 win (+3, and +1 as a podium); 2024's do not.
    request = service.create_request(
        demo, team="jota", championship="WEC", year=2025, kind="new-team", actor="pm"
    )
    assert service.decide_season(demo, year=2025).read.values[request.code] == 3 * 3 + 3 + 1

    level = service.service_level(demo, year=2023)
    assert (level.fill_rate, level.on_time_rate) == (1.0, 0.875)
    assert "88% on time" in level.summary
    spa = service.record_delivery(
        demo,
        championship="WEC",
        year=2024,
        car_number="12",
        event="Spa",
        items=[service.Delivered("engineer", 1), service.Delivered("data_specialist", 0)],
        actor="pm",
    )
    assert [(line.kind, line.promised, line.delivered) for line in spa.lines] == [
        ("data_specialist", 1, 0),
        ("engineer", 1, 1),
    ]
    assert spa.fill_rate == 0.5
    with pytest.raises(Invalid, match="has no hairdresser"):
        service.record_delivery(
            demo,
            championship="WEC",
            year=2024,
            car_number="12",
            event="Spa",
            items=[service.Delivered("hairdresser", 1)],
            actor="pm",
        )


def test_the_planner_load_shows_where_the_requests_overflow(demo: Session) -> None:
    load = service.resource_load(demo, year=2024)
    assert load.open_requests == [PROTON, JOTA, JDC]
    data = next(r for r in load.resources if r.code == "data")
    week = next(w for w in data.weeks if w.week_start == date(2024, 4, 15))
    assert (week.capacity, week.committed, week.with_open_requests, week.short) == (5, 4, 6, 1)
    assert week.labels == ["Imola", "Long Beach"]
    assert all(w.short == 0 for r in load.resources for w in r.weeks if w != week)


def test_errors_are_readable(demo: Session) -> None:
    with pytest.raises(NotFound, match="No customer team 'Ferrari'"):
        service.evaluate_what_if(demo, team="Ferrari", championship="WEC", year=2024, kind="spare")
    with pytest.raises(Invalid, match="not a request kind"):
        service.create_request(
            demo, team="jota", championship="WEC", year=2024, kind="third", actor="pm"
        )
    with pytest.raises(NotFound, match="No WEC 2030 season"):
        service.create_request(
            demo, team="jota", championship="WEC", year=2030, kind="spare", actor="pm"
        )
    with pytest.raises(Conflict, match="#38 is already entered"):
        service.create_request(
            demo,
            team="jota",
            championship="WEC",
            year=2024,
            kind="second-car",
            car_number="38",
            actor="pm",
        )
    with pytest.raises(Invalid, match="Both accepted and declined"):
        service.record_decision(demo, year=2024, accept=[JOTA], decline=[JOTA], decided_by="x")
    with pytest.raises(Invalid, match="Say who decides"):
        service.record_decision(demo, year=2024, accept=[JOTA], decided_by=" ")
    with pytest.raises(Invalid, match="No open requests for 2025"):
        service.decide_season(demo, year=2025)
    service.withdraw_request(demo, code=JDC, actor="pm")
    with pytest.raises(Conflict, match="withdrawn"):
        service.evaluate_request(demo, code=JDC)
    assert demo.scalar(select(func.count()).select_from(orm.SupportDecision)) == 0
