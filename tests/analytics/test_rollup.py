"""The KPI rollup kept by triggers always equals the same figures computed from the base tables:
through creation, holds, moves, cancellations, check-ins, no-shows, attribution, linking, merges,
erasure, deliveries and deletions; before and after compaction; and after a rebuild. Also under
concurrent writers (real threads)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from paddock.bookings import service as bookings
from paddock.bookings.models import Booking
from paddock.capacity.models import Allocation
from paddock.crm import service as crm
from paddock.dealers.models import BookingAttribution
from paddock.rollup import service as rollup
from tests.crm.helpers import make_dealer, visit
from tests.crm.test_deliveries import delivery_world
from tests.factories import MONDAY, at


def from_rollup(
    session: Session,
) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    session.rollback()
    cells: Counter[tuple[object, ...]] = Counter()
    for table in ("kpi_booking_day", "kpi_booking_delta"):
        for day, product, status, dealer, kind, n in session.execute(
            text(f"SELECT day, product_id, status, dealer_id, kind, n FROM {table}")
        ):
            cells[(str(day), product, status, dealer, kind)] += n
    units: Counter[tuple[object, ...]] = Counter()
    for table in ("kpi_unit_day", "kpi_unit_delta"):
        for day, unit, seconds in session.execute(
            text(f"SELECT day, unit_id, seconds FROM {table}")
        ):
            units[(str(day), unit)] += seconds
    return +cells, +units  # without the zero cells


def from_base(session: Session) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    """The same figures counted in Python from the rows, independently of the SQL."""
    session.rollback()
    dealers = dict(
        session.execute(select(BookingAttribution.booking_id, BookingAttribution.dealer_id)).all()
    )
    kinds = dict(
        session.execute(text("SELECT booking_id, kind_at_visit FROM booking_person")).all()
    )
    cells: Counter[tuple[object, ...]] = Counter()
    for b in session.scalars(select(Booking)):
        day = b.starts_at.date().isoformat()
        cells[(day, b.product_id, b.status, dealers.get(b.id, 0), kinds.get(b.id, ""))] += 1
    units: Counter[tuple[object, ...]] = Counter()
    excluded = set(
        session.scalars(
            text("SELECT id FROM pool WHERE kind IN ('dealer_allotment', 'customer_vehicle')")
        )
    )
    for a in session.scalars(select(Allocation).where(Allocation.active.is_(True))):
        if a.pool_id in excluded:
            continue
        moment = a.starts_at
        while moment < a.ends_at:
            midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            piece = min(a.ends_at, midnight) - moment
            units[(moment.date().isoformat(), a.unit_id)] += int(piece.total_seconds())
            moment = midnight
    return cells, units


def months(session: Session) -> Counter[tuple[object, ...]]:
    session.rollback()
    found: Counter[tuple[object, ...]] = Counter()
    for month, product, status, attributed, kind, n in session.execute(
        text("SELECT month, product_id, status, attributed, kind, n FROM kpi_booking_month")
    ):
        found[(str(month)[:7], product, status, attributed, kind)] += n
    return +found


def months_from_days(cells: Counter[tuple[object, ...]]) -> Counter[tuple[object, ...]]:
    found: Counter[tuple[object, ...]] = Counter()
    for (day, product, status, dealer, kind), n in cells.items():
        found[(str(day)[:7], product, status, int(dealer != 0), kind)] += n
    return +found


def assert_consistent(session: Session) -> None:
    assert from_rollup(session) == from_base(session)
    rollup.compact(session)
    assert from_rollup(session) == from_base(session)
    session.rollback()
    assert session.scalar(text("SELECT count(*) FROM kpi_booking_delta")) == 0
    assert months(session) == months_from_days(from_base(session)[0])


def test_rollup_follows_every_change(session: Session) -> None:
    world = delivery_world(session)
    dealer = make_dealer(session).id
    other = make_dealer(session, "D-2", "Two").id
    assert_consistent(session)
    visit(session, email="ann@example.com", day=MONDAY, dealer_id=dealer)
    visit(session, email="bob@example.com", day=MONDAY, hour=12, outcome="no_show")
    visit(
        session, email="cy@example.com", day=MONDAY, hour=14, outcome="cancelled", dealer_id=other
    )
    late = visit(session, email="dee@example.com", day=MONDAY, hour=16, outcome="confirmed")
    now = at(MONDAY - timedelta(days=1), 9)
    held = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 16, 30),
        guest=bookings.Guest("Eve Ng", "eve@example.com"),
        hold=True,
        now=now,
    )
    bookings.expire_holds(session, now=now + timedelta(hours=1))
    # A move across midnight UTC changes the booking's day.
    bookings.reschedule(
        session, ref=late.booking.ref, starts_at=at(MONDAY + timedelta(days=1), 9), now=now
    )
    assert_consistent(session)
    crm.link_bookings(session)
    assert_consistent(session)
    crm.schedule_delivery(
        session,
        vin="WP0AA2A91SS206201",
        model="911",
        person_id=1,
        starts_at=at(MONDAY + timedelta(days=2), 10),
        product_code="delivery",
        now=now,
    )
    a = crm.find_by_email(session, "ann@example.com")
    b = crm.find_by_email(session, "bob@example.com")
    assert a is not None and b is not None
    crm.merge_people(session, survivor_id=a.id, duplicate_id=b.id, actor="x")
    crm.erase_person(session, person_id=a.id, actor="x")
    assert_consistent(session)
    # Deleting rows (not something the product does) keeps the rollup right too.
    session.execute(delete(BookingAttribution).where(BookingAttribution.dealer_id == other))
    session.execute(delete(Booking).where(Booking.id == held.booking.id))
    session.execute(delete(Allocation).where(Allocation.unit_id == world.units["car"][0].id))
    session.commit()
    assert_consistent(session)
    before = from_rollup(session)
    rollup.rebuild(session)
    assert from_rollup(session) == before


def test_rollup_under_concurrent_writers(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    delivery_world(session)
    dealer = make_dealer(session).id
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def book(worker: int) -> None:
        try:
            with session_factory() as own:
                barrier.wait()
                for n in range(5):
                    day = MONDAY + timedelta(days=worker * 5 + n)
                    visit(
                        own,
                        email=f"w{worker}n{n}@example.com",
                        day=day,
                        dealer_id=dealer if n % 2 else None,
                        outcome=("completed", "no_show", "confirmed")[n % 3],
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def compact() -> None:
        try:
            with session_factory() as own:
                barrier.wait()
                for _ in range(15):
                    rollup.compact(own)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=book, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=compact))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert session.scalar(select(func.count()).select_from(Booking)) == 15
    assert_consistent(session)


def test_rebuild_equals_what_the_triggers_kept(session: Session) -> None:
    delivery_world(session)
    dealer = make_dealer(session).id
    for n in range(4):
        visit(
            session,
            email=f"g{n}@example.com",
            day=MONDAY + timedelta(days=n),
            dealer_id=dealer if n % 2 else None,
        )
    crm.link_bookings(session)
    kept = from_rollup(session)
    rollup.rebuild(session)
    assert from_rollup(session) == kept == from_base(session)
    assert months(session) == months_from_days(kept[0])
    assert date  # (imported for readers of the day keys)
