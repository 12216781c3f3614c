"""Taking units for an engagement (claims.py, and booking_create()/capacity_take() on
PostgreSQL): candidate order, shared units, shortfalls, hints, and the references the
database keeps. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings import service
from paddock.bookings.models import Booking
from paddock.capacity import claims
from paddock.capacity.engine import Demand
from paddock.capacity.models import Allocation, Pool, Unit
from paddock.capacity.service import is_on_grid
from paddock.capacity.units import SiteClock, StaticUnits
from paddock.catalog import service as catalog
from paddock.catalog.models import Product, ProductDemand
from paddock.errors import SoldOut
from paddock.rollup.models import KpiBookingDelta, KpiUnitDelta
from tests.factories import MONDAY, World, at, make_world

GUEST = service.Guest("Ann Lee", "ann@example.com")


def add_pair_product(session: Session, world: World) -> None:
    """Two coaches at once, from the coach pool: one unit cannot be both."""
    pair = Product(
        site_id=world.site.id,
        code="pair",
        name="Two coaches",
        duration_minutes=60,
        slot_step_minutes=30,
        price_cents=1000,
    )
    pair.demands = [
        ProductDemand(pool=world.pools["coach"], quantity=1, offset_minutes=0, duration_minutes=60),
        ProductDemand(pool=world.pools["coach"], quantity=1, offset_minutes=0, duration_minutes=60),
    ]
    session.add(pair)
    session.commit()
    catalog.invalidate_cache()


def test_a_unit_never_serves_two_overlapping_demands_of_one_booking(session: Session) -> None:
    world = make_world(session, cars=1, coaches=2)
    add_pair_product(session, world)
    booked = service.create_booking(
        session, product_code="pair", starts_at=at(MONDAY, 10), guest=GUEST
    )
    assert sorted(r.unit_id for r in booked.resources) == sorted(u.id for u in world.units["coach"])
    # Only one coach left at 10:30: both demands fall short, and nothing is written.
    before = session.scalar(select(func.count()).select_from(Allocation))
    with pytest.raises(SoldOut) as caught:
        service.create_booking(
            session, product_code="pair", starts_at=at(MONDAY, 10, 30), guest=GUEST
        )
    assert [s["free"] for s in caught.value.extra["shortfalls"]] == [0, 0]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Allocation)) == before


def test_sold_out_writes_nothing_and_names_every_short_demand(session: Session) -> None:
    world = make_world(session, cars=1, coaches=1, positions=1)
    start = at(MONDAY, 10)
    service.create_booking(session, product_code="drive", starts_at=start, guest=GUEST)
    counts = {
        table: session.scalar(select(func.count()).select_from(table))
        for table in (Booking, Allocation, AuditEntry, KpiBookingDelta, KpiUnitDelta)
    }
    with pytest.raises(SoldOut) as caught:
        service.create_booking(session, product_code="drive", starts_at=start, guest=GUEST)
    short = {s["pool"]: (s["needed"], s["free"]) for s in caught.value.extra["shortfalls"]}
    assert short == {"car": (1, 0), "coach": (1, 0), "module": (1, 0)}
    assert caught.value.extra["shortfalls"][0]["starts_at"] == start.isoformat()
    session.rollback()
    for table, count in counts.items():
        assert session.scalar(select(func.count()).select_from(table)) == count, table
    assert world.site.id


def test_the_least_used_free_unit_is_taken(session: Session) -> None:
    world = make_world(session, cars=3)
    cars = world.units["car"]  # usage 0, 1, 2 minutes
    first = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    second = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )

    def car(result: service.BookingResult) -> int:
        return next(r.unit_id for r in result.resources if r.unit_label.startswith("Car"))

    assert [car(first), car(second)] == [cars[0].id, cars[1].id]


def test_a_referenced_unit_or_pool_cannot_be_deleted(session: Session) -> None:
    world = make_world(session, cars=2)
    booked = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    used = next(r.unit_id for r in booked.resources if r.unit_label.startswith("Car"))
    for statement in (
        delete(Unit).where(Unit.id == used),
        delete(Pool).where(Pool.id == world.pools["module"].id),
        delete(Product).where(Product.code == "drive"),
    ):
        with pytest.raises(IntegrityError):
            session.execute(statement)
        session.rollback()
    spare = next(u.id for u in world.units["car"] if u.id != used)
    session.execute(delete(Unit).where(Unit.id == spare))
    session.commit()
    assert session.get(Unit, spare) is None


# --- claims, without a database ------------------------------------------------------------


def static(pool_id: int, groups: list[list[int]]) -> StaticUnits:
    return StaticUnits(
        members={},
        shifts={},
        loaded_at=0.0,
        patterns=(None,),
        ranked={pool_id: tuple(tuple((u, 0) for u in group) for group in groups)},
        labels={u: f"Unit {u}" for group in groups for u in group},
    )


def candidates(units: StaticUnits, demand: Demand, start: datetime) -> tuple[int, ...]:
    working = [True] * len(units.patterns)
    return claims.candidates(units, working, demand.pool_id, start, start + demand.duration)


DEMAND = Demand(7, "car", "Cars", 1, timedelta(0), timedelta(minutes=60))
START = datetime(2031, 6, 2, 14, tzinfo=UTC)


def test_candidates_keep_usage_order_and_shuffle_only_ties() -> None:
    units = static(7, [[1], [2, 3, 4], [5]])
    seen = set()
    for _ in range(200):
        order = candidates(units, DEMAND, START)
        assert order[0] == 1 and order[-1] == 5 and sorted(order[1:4]) == [2, 3, 4]
        seen.add(order[1:4])
    assert len(seen) > 1  # ties in more than one order: concurrent writers spread out


def test_working_is_remembered_per_opening_hours_and_interval() -> None:
    units = static(7, [[1]])
    zone = ZoneInfo("America/New_York")
    weekly = {d: [(time(8), time(18))] for d in range(7)}
    short = SiteClock(1, zone, weekly)
    longer = SiteClock(1, zone, {d: [(time(8), time(20))] for d in range(7)})
    late = at(MONDAY, 17)
    # 17:00-18:30 runs past closing at 18:00, not at 20:00, though the snapshot asked first.
    assert units.working(short, late, late + timedelta(minutes=90)) == (False,)
    assert units.working(longer, late, late + timedelta(minutes=90)) == (True,)
    assert units.working(short, late, late + timedelta(minutes=60)) == (True,)
    assert units.working(short, late, late + timedelta(minutes=90)) == (False,)


def test_grid_starts_keep_wall_clock_times_on_both_dst_days() -> None:
    zone = ZoneInfo("America/New_York")
    site = SiteClock(1, zone, {d: [(time(8), time(18))] for d in range(7)})
    hour, half = timedelta(hours=1), timedelta(minutes=30)
    for day in (date(2031, 3, 9), date(2031, 3, 10), date(2031, 11, 2), date(2031, 11, 3)):
        ten = datetime.combine(day, time(10), tzinfo=zone).astimezone(UTC)
        assert is_on_grid(site, ten, hour, half), day
        assert not is_on_grid(site, ten + timedelta(minutes=10), hour, half), day
        assert not is_on_grid(site, datetime.combine(day, time(17, 30), tzinfo=zone), hour, half)
    # The day before the change, EST: 14:00 UTC is 09:00 (on the grid), 12:00 UTC is 07:00
    # (before opening).
    assert is_on_grid(site, datetime(2031, 3, 8, 14, tzinfo=UTC), hour, half)
    assert not is_on_grid(site, datetime(2031, 3, 8, 12, tzinfo=UTC), hour, half)


def test_units_found_busy_are_tried_last_for_that_interval() -> None:
    claims.hints.clear()
    units = static(7, [[1, 2, 3, 4]])
    claims.hints.add(7, START, START + DEMAND.duration, [1, 2])
    for _ in range(20):
        assert set(candidates(units, DEMAND, START)[2:]) == {1, 2}
    # Another interval knows nothing of it.
    later = START + timedelta(hours=2)
    assert {candidates(units, DEMAND, later)[0] for _ in range(60)} == {1, 2, 3, 4}
    claims.hints.clear()


def test_hints_forget_old_entries_and_stay_bounded() -> None:
    hints = claims.BusyHints(size=3, seconds=60.0)
    for n in range(5):
        hints.add(1, START + timedelta(hours=n), START + timedelta(hours=n + 1), [n])
    assert hints.get(1, START, START + timedelta(hours=1)) == frozenset()  # evicted
    assert hints.get(1, START + timedelta(hours=4), START + timedelta(hours=5)) == {4}
    stale = claims.BusyHints(seconds=0.0)
    stale.add(1, START, START + timedelta(hours=1), [9])
    assert stale.get(1, START, START + timedelta(hours=1)) == frozenset()


def test_array_arguments_and_shortfall_detail_round_trip() -> None:
    second = Demand(8, "coach", "Coaches", 2, timedelta(minutes=15), timedelta(minutes=30))
    chosen = claims.Claims(
        (
            claims.Claim(DEMAND, START, START + DEMAND.duration, (3, 1)),
            claims.Claim(second, START + second.offset, START + timedelta(minutes=45), (5, 6, 4)),
        ),
        {1: "A", 3: "C", 4: "D", 5: "E", 6: "F"},
    )
    arguments = chosen.arguments()
    assert [arguments[k] for k in ("pools", "quantities", "candidates", "first")] == [
        "{7,8}",
        "{1,2}",
        "{3,1,5,6,4}",
        "{1,3,6}",
    ]
    assert (
        arguments["starts"]
        == "{" + START.isoformat() + "," + (START + second.offset).isoformat() + "}"
    )
    picks = chosen.picks([3, 5, 6])
    assert [(p.demand.pool_code, p.unit_id, p.unit_label) for p in picks] == [
        ("car", 3, "C"),
        ("coach", 5, "E"),
        ("coach", 6, "F"),
    ]
    short = chosen.shortfalls("2:1;")
    assert [(s.pool_code, s.needed, s.free, s.missing) for s in short] == [("coach", 2, 1, 1)]


QUICK_TAKE = (
    "SELECT taken, busy FROM capacity_take('test', 1, NULL, %s, %s::int[], %s::int[], "
    "%s::timestamptz[], %s::timestamptz[], %s::int[], %s::int[], false)"
)


def test_the_quick_way_takes_in_candidate_order_and_names_the_busy_units_it_passed(
    session: Session,
) -> None:
    """PostgreSQL's capacity_take(), quick way: per demand, the first free candidates in the
    caller's order; busy = the candidates passed over before the last one taken."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("capacity_take() is PostgreSQL's")
    world = make_world(session, coaches=5)
    coaches = [u.id for u in world.units["coach"]]
    pool = world.pools["coach"].id
    start, end = at(MONDAY, 10), at(MONDAY, 11)
    session.add_all(
        Allocation(
            engagement_kind="test",
            engagement_id=0,
            unit_id=coaches[i],
            pool_id=pool,
            starts_at=start - timedelta(minutes=30),
            ends_at=start + timedelta(minutes=15),
            active=True,
        )
        for i in (0, 2)
    )
    session.commit()

    def quick(wants: list[int], candidates: list[list[int]]) -> tuple[list[int], list[int]]:
        first = [1]
        for group in candidates:
            first.append(first[-1] + len(group))
        row = (
            session.connection()
            .exec_driver_sql(
                QUICK_TAKE,
                (
                    start,
                    [pool] * len(wants),
                    wants,
                    [start] * len(wants),
                    [end] * len(wants),
                    [c for group in candidates for c in group],
                    first,
                ),
            )
            .one()
        )
        session.rollback()
        return list(row.taken), list(row.busy)

    c0, c1, c2, c3, c4 = coaches
    assert quick([2], [[c0, c1, c2, c3, c4]]) == ([c1, c3], [c0, c2])
    assert quick([1], [[c4, c0, c1]]) == ([c4], [])  # nothing passed over
    # Two demands on one pool: the second passes over the first's pick, which is not busy.
    assert quick([1, 1], [[c0, c1, c3], [c0, c1, c3]]) == ([c1, c3], [c0, c0])
    # Short: the careful way answers, naming the demand and how many were free.
    with pytest.raises(DBAPIError, match="not enough capacity") as caught:
        quick([2], [[c0, c2, c4]])
    assert "1:1;" in str(caught.value)
