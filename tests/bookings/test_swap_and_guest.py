"""swap_unit (operations give a booking another car) and confirm_with_guest (a web hold gets
its guest), on SQLite and PostgreSQL, including two swaps racing for the last free car."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paddock.audit.models import AuditEntry
from paddock.bookings import service
from paddock.bookings.models import BookingStatus
from paddock.capacity.models import Allocation, Block
from paddock.errors import Conflict, HoldExpired, Invalid, NotFound
from tests.factories import MONDAY, at, make_world

GUEST = service.Guest("Ann Lee", "ann@example.com")


def car_of(result: service.BookingResult) -> int:
    return next(r.unit_id for r in result.resources if r.unit_label.startswith("Car"))


def test_swap_moves_the_allocation_to_a_free_car(session: Session) -> None:
    world = make_world(session, cars=3)
    booking = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    old = car_of(booking)
    new = next(u.id for u in world.units["car"] if u.id != old)
    swapped = service.swap_unit(
        session, ref=booking.booking.ref, from_unit_id=old, to_unit_id=new, actor="ops:test"
    )
    assert car_of(swapped) == new
    assert len(swapped.resources) == len(booking.resources)
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == booking.booking.id)
    ).all()
    assert "unit_swapped" in actions
    # The old car is free again at that time: another booking can take it.
    other = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    assert car_of(other) != new


def test_swap_refuses_a_busy_blocked_or_foreign_unit(session: Session) -> None:
    world = make_world(session, cars=3)
    first = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    second = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10, 30), guest=GUEST
    )
    ref = first.booking.ref
    with pytest.raises(Conflict, match="not free"):
        service.swap_unit(session, ref=ref, from_unit_id=car_of(first), to_unit_id=car_of(second))
    spare = next(u for u in world.units["car"] if u.id not in (car_of(first), car_of(second)))
    session.add(
        Block(
            site_id=world.site.id,
            unit_id=spare.id,
            kind="maintenance",
            starts_at=at(MONDAY, 9),
            ends_at=at(MONDAY, 12),
        )
    )
    session.commit()
    with pytest.raises(Conflict, match="not free"):
        service.swap_unit(session, ref=ref, from_unit_id=car_of(first), to_unit_id=spare.id)
    coach = world.units["coach"][0].id
    with pytest.raises(Invalid, match="not one of"):
        service.swap_unit(session, ref=ref, from_unit_id=car_of(first), to_unit_id=coach)
    with pytest.raises(NotFound):
        service.swap_unit(session, ref=ref, from_unit_id=spare.id, to_unit_id=car_of(first))
    with pytest.raises(Invalid):
        service.swap_unit(session, ref=ref, from_unit_id=spare.id, to_unit_id=spare.id)
    # Nothing changed: the booking still holds its first car.
    assert car_of(service.get_booking(session, ref=ref)) == car_of(first)


def test_two_swaps_racing_for_the_last_car_one_wins(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    world = make_world(session, cars=3)
    a = service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST)
    b = service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST)
    spare = next(u.id for u in world.units["car"] if u.id not in (car_of(a), car_of(b)))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def swap(result: service.BookingResult) -> None:
        with session_factory() as own:
            barrier.wait()
            try:
                service.swap_unit(
                    own, ref=result.booking.ref, from_unit_id=car_of(result), to_unit_id=spare
                )
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=swap, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    session.rollback()  # end the read snapshot taken before the threads wrote
    live = session.scalars(
        select(Allocation.engagement_id).where(
            Allocation.unit_id == spare, Allocation.active.is_(True)
        )
    ).all()
    assert len(live) == 1


def test_confirm_with_guest_fills_in_the_hold(session: Session) -> None:
    make_world(session)
    now = at(MONDAY, 7)
    hold = service.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=service.Guest("Guest", "hold@paddock.invalid"),
        hold=True,
        now=now,
    )
    done = service.confirm_with_guest(
        session, ref=hold.booking.ref, guest=GUEST, now=now + timedelta(minutes=3)
    )
    assert done.booking.status == BookingStatus.CONFIRMED
    assert done.booking.guest_email == "ann@example.com"
    assert done.booking.hold_expires_at is None
    assert all(
        a.expires_at is None
        for a in session.scalars(
            select(Allocation).where(Allocation.engagement_id == hold.booking.id)
        )
    )


def test_confirm_with_guest_after_expiry_releases_and_says_so(session: Session) -> None:
    make_world(session)
    now = at(MONDAY, 7)
    hold = service.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=service.Guest("Guest", "hold@paddock.invalid"),
        hold=True,
        hold_minutes=10,
        now=now,
    )
    with pytest.raises(HoldExpired):
        service.confirm_with_guest(
            session, ref=hold.booking.ref, guest=GUEST, now=now + timedelta(minutes=11)
        )
    after = service.get_booking(session, ref=hold.booking.ref)
    assert after.booking.status == BookingStatus.EXPIRED
    assert after.booking.guest_email == "hold@paddock.invalid"
    assert after.resources == []
