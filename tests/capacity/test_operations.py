"""Fleet and site operations through the service, on SQLite and PostgreSQL: today's state,
blocks and closures refused over live bookings, retirement, and the guard rows that keep
bookings out of blocked time in the database itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings import service as bookings
from paddock.bootstrap import register_domains
from paddock.capacity import operations
from paddock.capacity.models import Allocation, Block, Pool, Unit
from paddock.catalog import service as catalog
from paddock.errors import Conflict, Invalid, NotFound, SoldOut
from tests.factories import MONDAY, at, make_world

GUEST = bookings.Guest("Ann Lee", "ann@example.com")
EARLY = at(MONDAY, 7)
TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def _bookings_are_named() -> None:
    register_domains()


def remaining(session: Session, start: datetime, now: datetime = EARLY, day: date = MONDAY) -> int:
    result = catalog.availability(
        session, product_code="drive", date_from=day, date_to=day, now=now
    )
    return next(s.remaining for s in result.slots if s.starts_at == start)


def book(session: Session, start: datetime, **kwargs: object) -> bookings.BookingResult:
    return bookings.create_booking(
        session,
        product_code="drive",
        starts_at=start,
        guest=GUEST,
        now=kwargs.pop("now", start - timedelta(days=1)),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def guard_rows(session: Session, unit_id: int | None = None) -> list[tuple[datetime, datetime]]:
    query = select(Allocation.starts_at, Allocation.ends_at).where(
        Allocation.engagement_kind == operations.GUARD_KIND, Allocation.active.is_(True)
    )
    if unit_id is not None:
        query = query.where(Allocation.unit_id == unit_id)
    return [(s, e) for s, e in session.execute(query.order_by(Allocation.starts_at))]


def test_pools_show_units_and_their_state_now(session: Session) -> None:
    world = make_world(session, cars=2, coaches=2, coach_shift=("09:00", "17:00"))
    ref = book(session, at(MONDAY, 10)).booking.ref
    car = next(
        r
        for r in bookings.get_booking(session, ref=ref).resources
        if r.pool_id == world.pools["car"].id
    )
    spare = next(u for u in world.units["car"] if u.id != car.unit_id)
    operations.block_unit(
        session,
        unit_id=spare.id,
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 12),
        reason="Tyres",
        now=EARLY,
    )
    during = at(MONDAY, 10, 30)
    pools = {
        p.pool.code: p for p in operations.pools_overview(session, site_code="tst", now=during)
    }
    cars = {u.unit.id: u for u in pools["car"].units}
    assert cars[car.unit_id].state == "in_use"
    assert cars[car.unit_id].engagements_today == 1
    assert cars[car.unit_id].busy_minutes_today == 90
    assert cars[spare.id].state == "blocked" and cars[spare.id].block is not None
    assert cars[spare.id].block.reason == "Tyres"
    assert pools["coach"].count("in_use") == 1 and pools["coach"].count("available") == 1
    assert pools["module"].count("in_use") == 1
    # Before their shift, coaches are off duty; the cars are there from opening.
    early = {
        p.pool.code: p
        for p in operations.pools_overview(session, site_code="TST", now=at(MONDAY, 8, 30))
    }
    assert early["coach"].count("off_duty") == 2
    assert early["car"].count("available") == 2
    # The guard row of the block is not counted as use.
    assert cars[spare.id].engagements_today == 0


def test_units_carry_attributes_and_qualifications(session: Session) -> None:
    world = make_world(session)
    car = world.units["car"][0]
    car.attributes = {"vin": "WP0ZZZ99ZTS392124", "odometer_miles": 4210}
    coach = world.units["coach"][0]
    coach.pools.append(world.pools["sim"])  # also qualified to run the simulator
    session.commit()
    detail = operations.unit_detail(session, unit_id=car.id, now=EARLY)
    assert detail.state.unit.attributes["vin"] == "WP0ZZZ99ZTS392124"
    assert operations.find_unit(session, ref="wp0zzz99zts392124").id == car.id
    assert operations.find_unit(session, ref="car 1", site_code="TST").id == car.id
    assert operations.find_unit(session, ref=str(car.id)).id == car.id
    states = operations.list_units(session, site_code="TST", kind="coach", now=EARLY)
    first = next(s for s in states if s.unit.id == coach.id)
    assert first.qualifications == ["coach"]
    assert first.pool_codes == ["coach", "sim"]
    assert [
        s.unit.label for s in operations.list_units(session, site_code="TST", pool_code="sim")
    ] == ["Coach 1", "Rig 1"]
    with pytest.raises(NotFound):
        operations.find_unit(session, ref="Car 99")
    with pytest.raises(NotFound):
        operations.list_units(session, site_code="NOPE")


def test_a_block_takes_the_unit_out_of_availability_and_back(session: Session) -> None:
    world = make_world(session, cars=2)
    start = at(MONDAY, 10)
    assert remaining(session, start) == 2
    block = operations.block_unit(
        session,
        unit_id=world.units["car"][0].id,
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 11),
        reason="Brake service",
        now=EARLY,
    )
    assert remaining(session, start) == 1
    assert remaining(session, at(MONDAY, 11)) == 2
    assert guard_rows(session, world.units["car"][0].id) == [(at(MONDAY, 9), at(MONDAY, 11))]
    # The next booking gets the other car even though the blocked one is less used.
    result = book(session, start)
    assert world.units["car"][0].id not in {r.unit_id for r in result.resources}
    with pytest.raises(SoldOut) as caught:
        book(session, start)
    assert caught.value.extra["binding_pool"] == "car"
    operations.remove_block(session, block_id=block.id, now=EARLY)
    assert guard_rows(session) == []
    assert remaining(session, start) == 1
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_kind == "unit").order_by(AuditEntry.id)
    ).all()
    assert actions == ["blocked", "unblocked"]


def test_a_block_over_live_bookings_is_refused_and_names_them(session: Session) -> None:
    world = make_world(session, cars=1)
    car = world.units["car"][0]
    first = book(session, at(MONDAY, 10)).booking
    second = book(session, at(MONDAY, 14)).booking
    with pytest.raises(Conflict) as caught:
        operations.block_unit(
            session,
            unit_id=car.id,
            starts_at=at(MONDAY, 0),
            ends_at=at(TUESDAY, 0),
            reason="Engine check",
            now=EARLY,
        )
    error = caught.value
    assert first.ref in error.detail and second.ref in error.detail
    assert "Car 1 is booked" in error.detail and "10:00-11:30" in error.detail
    affected = error.extra["affected"]
    assert [a["reference"] for a in affected] == [
        f"booking {first.ref} (Ann Lee)",
        f"booking {second.ref} (Ann Lee)",
    ]
    assert affected[0]["units"] == ["Car 1"] and affected[0]["kind"] == "booking"
    # Nothing was written.
    assert session.scalar(select(func.count()).select_from(Block)) == 0
    assert guard_rows(session) == []
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_kind == "unit")
        )
        == 0
    )
    # Moved and cancelled bookings no longer stand in the way.
    bookings.cancel_booking(session, ref=first.ref, now=EARLY)
    bookings.reschedule(session, ref=second.ref, starts_at=at(TUESDAY, 10), now=EARLY)
    operations.block_unit(
        session,
        unit_id=car.id,
        starts_at=at(MONDAY, 0),
        ends_at=at(TUESDAY, 0),
        reason="Engine check",
        now=EARLY,
    )


def test_what_already_happened_does_not_stand_in_the_way(session: Session) -> None:
    world = make_world(session, cars=1)
    start = at(MONDAY, 10)
    ref = book(session, start).booking.ref
    bookings.check_in(session, ref=ref, now=start)
    bookings.complete(session, ref=ref, now=start + timedelta(minutes=90))
    after = start + timedelta(hours=2)
    # A block from this morning, made at noon: the completed drive is history.
    operations.block_unit(
        session,
        unit_id=world.units["car"][0].id,
        starts_at=at(MONDAY, 8),
        ends_at=at(MONDAY, 18),
        reason="Inspection",
        now=after,
    )
    assert guard_rows(session) == [(after, at(MONDAY, 18))]


def test_a_lapsed_hold_gives_way_to_a_block(session: Session) -> None:
    world = make_world(session, cars=1)
    hold = book(session, at(MONDAY, 10), hold=True, hold_minutes=10, now=EARLY).booking
    later = EARLY + timedelta(minutes=30)
    operations.block_unit(
        session,
        unit_id=world.units["car"][0].id,
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 12),
        reason="Recall",
        now=later,
    )
    # The hold's car is let go; its other units follow when the sweeper expires the hold.
    on_car = session.scalars(
        select(Allocation.engagement_kind).where(
            Allocation.unit_id == world.units["car"][0].id, Allocation.active.is_(True)
        )
    ).all()
    assert on_car == [operations.GUARD_KIND]
    assert bookings.expire_holds(session, now=later) == 1
    assert bookings.get_booking(session, ref=hold.ref).status == "expired"


def test_site_closure_empties_the_day_and_names_bookings(session: Session) -> None:
    make_world(session, cars=2)
    ref = book(session, at(TUESDAY, 10)).booking.ref
    start, end = operations.day_bounds(MONDAY, "America/New_York")
    closure = operations.close_site(
        session, site_code="TST", starts_at=start, ends_at=end, reason="Storm", now=EARLY
    )
    result = catalog.availability(
        session, product_code="drive", date_from=MONDAY, date_to=MONDAY, now=EARLY
    )
    assert result.slots and all(s.remaining == 0 for s in result.slots)
    assert result.slots[0].shortfall is not None and result.slots[0].shortfall.free == 0
    units = session.scalar(select(func.count()).select_from(Unit))
    assert len(guard_rows(session)) == units
    state = operations.pools_overview(session, site_code="TST", now=at(MONDAY, 9))
    assert {u.state for p in state for u in p.units} == {"closed"}
    with pytest.raises(Conflict) as caught:
        operations.close_site(
            session,
            site_code="TST",
            starts_at=at(TUESDAY, 0),
            ends_at=at(TUESDAY, 23),
            reason="Storm",
            now=EARLY,
        )
    assert ref in caught.value.detail and "Test centre is booked" in caught.value.detail
    assert len(caught.value.extra["affected"]) == 1  # one booking, though three units
    assert sorted(caught.value.extra["affected"][0]["units"]) == ["Car 1", "Coach 1", "Position 1"]
    operations.remove_block(session, block_id=closure.id, now=EARLY)
    assert guard_rows(session) == []
    assert remaining(session, at(MONDAY, 10)) == 2


def test_overlapping_blocks_and_closures_keep_one_guard_per_stretch(session: Session) -> None:
    world = make_world(session, cars=1)
    car = world.units["car"][0].id
    first = operations.block_unit(
        session,
        unit_id=car,
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 12),
        reason="Tyres",
        now=EARLY,
    )
    operations.block_unit(
        session,
        unit_id=car,
        starts_at=at(MONDAY, 11),
        ends_at=at(MONDAY, 14),
        reason="Paint",
        now=EARLY,
    )
    operations.close_site(
        session,
        site_code="TST",
        starts_at=at(MONDAY, 13),
        ends_at=at(MONDAY, 16),
        reason="Event",
        now=EARLY,
    )
    assert guard_rows(session, car) == [(at(MONDAY, 9), at(MONDAY, 16))]
    operations.remove_block(session, block_id=first.id, now=EARLY)
    assert guard_rows(session, car) == [(at(MONDAY, 11), at(MONDAY, 16))]


def test_changing_a_block_checks_only_the_new_time(session: Session) -> None:
    world = make_world(session, cars=1)
    car = world.units["car"][0].id
    ref = book(session, at(MONDAY, 14)).booking.ref
    block = operations.block_unit(
        session,
        unit_id=car,
        starts_at=at(MONDAY, 8),
        ends_at=at(MONDAY, 12),
        reason="Service",
        now=EARLY,
    )
    with pytest.raises(Conflict, match=ref):
        operations.change_block(session, block_id=block.id, ends_at=at(MONDAY, 15), now=EARLY)
    shorter = operations.change_block(
        session, block_id=block.id, ends_at=at(MONDAY, 10), reason="Done early", now=EARLY
    )
    assert shorter.ends_at == at(MONDAY, 10) and shorter.reason == "Done early"
    assert guard_rows(session, car) == [(at(MONDAY, 8), at(MONDAY, 10))]
    with pytest.raises(Invalid, match="end after"):
        operations.change_block(session, block_id=block.id, starts_at=at(MONDAY, 11), now=EARLY)


def test_retiring_a_unit(session: Session) -> None:
    world = make_world(session, cars=2)
    car = world.units["car"][0]
    ref = book(session, at(TUESDAY, 10)).booking.ref
    booked_car = next(
        r.unit_id
        for r in bookings.get_booking(session, ref=ref).resources
        if r.pool_id == world.pools["car"].id
    )
    with pytest.raises(Conflict, match=ref):
        operations.retire_unit(session, unit_id=booked_car, reason="Sold", now=EARLY)
    other = car.id if booked_car != car.id else world.units["car"][1].id
    operations.retire_unit(session, unit_id=other, reason="Sold at end of lease", now=EARLY)
    assert remaining(session, at(MONDAY, 10)) == 1
    # Guarded against writers with a stale cache for as far ahead as anyone books.
    assert guard_rows(session, other) == [(EARLY, EARLY + operations.GUARD_HORIZON)]
    state = operations.unit_detail(session, unit_id=other, now=EARLY)
    assert state.state.state == "retired"
    assert [b.kind for b in state.blocks] == ["retired"]
    with pytest.raises(Conflict, match="already retired"):
        operations.retire_unit(session, unit_id=other, reason="Sold", now=EARLY)
    with pytest.raises(Conflict, match="reactivate"):
        operations.remove_block(session, block_id=state.blocks[0].id, now=EARLY)
    operations.reactivate_unit(session, unit_id=other, now=EARLY)
    assert remaining(session, at(MONDAY, 10)) == 2
    assert guard_rows(session) == []
    with pytest.raises(Conflict, match="in service"):
        operations.reactivate_unit(session, unit_id=other, now=EARLY)


def test_bad_block_requests_are_refused_with_a_reason(session: Session) -> None:
    world = make_world(session)
    car = world.units["car"][0].id
    cases = [
        ({"starts_at": at(MONDAY, 12), "ends_at": at(MONDAY, 10)}, "end after"),
        ({"starts_at": at(MONDAY, 5), "ends_at": at(MONDAY, 6)}, "future"),
        ({"starts_at": at(MONDAY, 8), "ends_at": at(MONDAY, 8) + timedelta(days=500)}, "at most"),
        ({"starts_at": at(MONDAY, 8), "ends_at": at(MONDAY, 9), "kind": "holiday"}, "Unknown kind"),
        ({"starts_at": at(MONDAY, 8), "ends_at": at(MONDAY, 9), "reason": "  "}, "reason"),
        ({"starts_at": datetime(2031, 6, 2, 8), "ends_at": datetime(2031, 6, 2, 9)}, "offset"),
    ]
    for changes, message in cases:
        args: dict[str, object] = {"reason": "Service", **changes}
        with pytest.raises(Invalid, match=message):
            operations.block_unit(session, unit_id=car, now=EARLY, **args)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        operations.block_unit(
            session,
            unit_id=9999,
            starts_at=at(MONDAY, 8),
            ends_at=at(MONDAY, 9),
            reason="Service",
            now=EARLY,
        )
    with pytest.raises(NotFound):
        operations.close_site(
            session,
            site_code="XXX",
            starts_at=at(MONDAY, 8),
            ends_at=at(MONDAY, 9),
            reason="Storm",
            now=EARLY,
        )
    assert session.scalar(select(func.count()).select_from(Block)) == 0


def test_closing_a_local_day_across_spring_forward_is_23_hours(session: Session) -> None:
    make_world(session, time_zone="America/Los_Angeles")
    start, end = operations.day_bounds(date(2031, 3, 9), "America/Los_Angeles")
    assert end - start == timedelta(hours=23)
    block = operations.close_site(
        session,
        site_code="TST",
        starts_at=start,
        ends_at=end,
        reason="Closed",
        now=EARLY - timedelta(days=100),
    )
    assert (block.starts_at, block.ends_at) == (start, end)


def test_the_database_keeps_bookings_out_of_blocked_time(session: Session) -> None:
    """A booking that read the blocks before a block was committed still cannot land in it:
    the guard row collides with its allocation (PostgreSQL's exclusion constraint). On SQLite
    the booking's write lock, taken before it reads the blocks, serialises the two."""
    world = make_world(session, cars=1)
    car = world.units["car"][0].id
    operations.block_unit(
        session,
        unit_id=car,
        starts_at=at(MONDAY, 9),
        ends_at=at(MONDAY, 12),
        reason="Recall",
        now=EARLY,
    )
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers instead; see test_races")
    stale = {
        "engagement_kind": "booking",
        "engagement_id": 999,
        "unit_id": car,
        "pool_id": world.pools["car"].id,
        "starts_at": at(MONDAY, 10),
        "ends_at": at(MONDAY, 11, 30),
        "active": True,
        "expires_at": None,
    }
    with pytest.raises(IntegrityError, match="ex_allocation_unit_overlap"):
        session.execute(insert(Allocation), stale)
    session.rollback()


def test_quota_pools_stay_out_of_fleet_views_unless_asked(session: Session) -> None:
    world = make_world(session)
    places = Pool(
        site_id=world.site.id,
        code="dealer-x-2031-06",
        kind="dealer_allotment",
        name="Dealer X, June",
    )
    place = Unit(site_id=world.site.id, label="Dealer X place 1", kind="dealer_place")
    place.pools = [places]
    session.add_all([places, place])
    session.commit()
    default = {p.pool.code for p in operations.pools_overview(session, site_code="TST")}
    assert default == {"car", "coach", "module", "sim"}
    everything = operations.pools_overview(session, site_code="TST", include_all=True)
    assert "dealer-x-2031-06" in {p.pool.code for p in everything}
    labels = {s.unit.label for s in operations.list_units(session, site_code="TST")}
    assert "Dealer X place 1" not in labels and "Car 1" in labels
    assert "Dealer X place 1" in {
        s.unit.label for s in operations.list_units(session, site_code="TST", include_all=True)
    }
    by_pool = operations.list_units(session, site_code="TST", pool_code="dealer-x-2031-06")
    assert [s.unit.label for s in by_pool] == ["Dealer X place 1"]
