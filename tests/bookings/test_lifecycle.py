"""The booking lifecycle through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings import service
from paddock.bookings.models import BookingStatus
from paddock.capacity.models import Allocation
from paddock.errors import Conflict, HoldExpired, Invalid, InvalidTransition, SoldOut
from tests.factories import MONDAY, at, make_world

GUEST = service.Guest("Ann Lee", "ann@example.com")


def live_allocations(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Allocation).where(Allocation.active.is_(True))
        )
        or 0
    )


def test_confirmed_booking_takes_one_unit_of_each_demand(session: Session) -> None:
    make_world(session)
    result = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    assert result.status == BookingStatus.CONFIRMED
    pools = sorted(r.pool_id for r in result.resources)
    assert len(pools) == 3
    module = next(r for r in result.resources if r.unit_label.startswith("Position"))
    assert module.starts_at == at(MONDAY, 10, 15)
    assert module.ends_at == at(MONDAY, 11, 15)
    assert live_allocations(session) == 3


def test_last_car_then_sold_out_names_the_short_pool(session: Session) -> None:
    make_world(session, cars=1, coaches=3)
    service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST)
    with pytest.raises(SoldOut) as caught:
        service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 11), guest=GUEST)
    assert caught.value.extra["binding_pool"] == "car"
    assert caught.value.extra["shortfalls"][0]["missing"] == 1
    # Once the first drive has ended the car is free again.
    service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 11, 30), guest=GUEST)


def test_cancel_releases_units(session: Session) -> None:
    make_world(session, cars=1)
    first = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    service.cancel_booking(session, ref=first.booking.ref, reason="ill")
    assert live_allocations(session) == 0
    again = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST
    )
    assert again.status == BookingStatus.CONFIRMED


def test_hold_expires_and_frees_the_slot(session: Session) -> None:
    make_world(session, cars=1)
    now = at(MONDAY, 7)
    hold = service.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        hold=True,
        hold_minutes=10,
        now=now,
    )
    assert hold.booking.hold_expires_at == now + timedelta(minutes=10)
    with pytest.raises(SoldOut):
        service.create_booking(
            session,
            product_code="drive",
            starts_at=at(MONDAY, 10),
            guest=GUEST,
            now=now + timedelta(minutes=5),
        )
    later = now + timedelta(minutes=11)
    # Lazily: a new booking over the lapsed hold succeeds without the sweeper.
    service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, now=later
    )
    with pytest.raises(HoldExpired):
        service.confirm_booking(session, ref=hold.booking.ref, now=later)
    assert service.get_booking(session, ref=hold.booking.ref).booking.status == "expired"


def test_hold_confirmed_in_time_stays(session: Session) -> None:
    make_world(session, cars=1)
    now = at(MONDAY, 7)
    hold = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, hold=True, now=now
    )
    confirmed = service.confirm_booking(
        session, ref=hold.booking.ref, now=now + timedelta(minutes=3)
    )
    assert confirmed.status == BookingStatus.CONFIRMED
    assert service.expire_holds(session, now=now + timedelta(hours=1)) == 0
    with pytest.raises(SoldOut):
        service.create_booking(
            session,
            product_code="drive",
            starts_at=at(MONDAY, 10),
            guest=GUEST,
            now=now + timedelta(hours=1),
        )


def test_sweeper_expires_lapsed_holds(session: Session) -> None:
    make_world(session)
    now = at(MONDAY, 7)
    service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, hold=True, now=now
    )
    assert service.expire_holds(session, now=now + timedelta(minutes=30)) == 1
    assert live_allocations(session) == 0


def test_idempotency_key_never_books_twice(session: Session) -> None:
    make_world(session)
    first = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, idempotency_key="abc"
    )
    again = service.create_booking(
        session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, idempotency_key="abc"
    )
    assert again.replayed and again.booking.ref == first.booking.ref
    assert live_allocations(session) == 3
    with pytest.raises(Conflict):
        service.create_booking(
            session,
            product_code="drive",
            starts_at=at(MONDAY, 11),
            guest=GUEST,
            idempotency_key="abc",
        )


def test_full_lifecycle_with_audit_trail(session: Session) -> None:
    make_world(session)
    start = at(MONDAY, 10)
    ref = service.create_booking(
        session, product_code="drive", starts_at=start, guest=GUEST, now=start - timedelta(days=2)
    ).booking.ref
    service.check_in(session, ref=ref, now=start - timedelta(minutes=30))
    done = service.complete(session, ref=ref, now=start + timedelta(minutes=95))
    assert done.status == BookingStatus.COMPLETED
    actions = [e.action for e in service.history(session, ref=ref)]
    assert actions == ["confirmed", "checked_in", "completed"]
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 3
    with pytest.raises(InvalidTransition):
        service.cancel_booking(session, ref=ref)


def test_usage_minutes_grow_on_completion_and_steer_the_next_pick(session: Session) -> None:
    world = make_world(session, cars=2)
    start = at(MONDAY, 10)
    first = service.create_booking(
        session, product_code="drive", starts_at=start, guest=GUEST, now=start - timedelta(days=1)
    )
    car_first = next(r.unit_id for r in first.resources if r.unit_label.startswith("Car"))
    assert car_first == world.units["car"][0].id  # the least used (0 minutes)
    service.check_in(session, ref=first.booking.ref, now=start)
    service.complete(session, ref=first.booking.ref, now=start + timedelta(minutes=90))
    from paddock.catalog.service import invalidate_cache

    invalidate_cache()
    second = service.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 14),
        guest=GUEST,
        now=start + timedelta(minutes=90),
    )
    car_second = next(r.unit_id for r in second.resources if r.unit_label.startswith("Car"))
    assert car_second == world.units["car"][1].id


def test_no_show_only_after_start(session: Session) -> None:
    make_world(session)
    start = at(MONDAY, 10)
    ref = service.create_booking(
        session, product_code="drive", starts_at=start, guest=GUEST, now=start - timedelta(days=1)
    ).booking.ref
    with pytest.raises(InvalidTransition):
        service.mark_no_show(session, ref=ref, now=start - timedelta(minutes=5))
    assert service.mark_no_show(session, ref=ref, now=start + timedelta(minutes=20)).status == (
        BookingStatus.NO_SHOW
    )
    assert live_allocations(session) == 0


def test_move_keeps_booking_when_new_slot_is_full(session: Session) -> None:
    make_world(session, cars=1)
    a = service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST)
    b = service.create_booking(session, product_code="drive", starts_at=at(MONDAY, 14), guest=GUEST)
    with pytest.raises(SoldOut):
        service.reschedule(session, ref=b.booking.ref, starts_at=at(MONDAY, 10, 30))
    kept = service.get_booking(session, ref=b.booking.ref)
    assert kept.booking.starts_at == at(MONDAY, 14)
    assert len(kept.resources) == 3
    moved = service.reschedule(session, ref=a.booking.ref, starts_at=at(MONDAY, 11, 30))
    assert moved.booking.starts_at == at(MONDAY, 11, 30)
    assert all(r.starts_at >= at(MONDAY, 11, 30) for r in moved.resources)


def test_rejects_times_off_the_grid_and_in_the_past(session: Session) -> None:
    make_world(session)
    with pytest.raises(Invalid, match="not a start time"):
        service.create_booking(
            session, product_code="drive", starts_at=at(MONDAY, 10, 10), guest=GUEST
        )
    with pytest.raises(Invalid, match="not a start time"):
        service.create_booking(
            session, product_code="drive", starts_at=at(MONDAY, 17), guest=GUEST
        )  # would end after closing
    with pytest.raises(Invalid, match="passed"):
        service.create_booking(
            session, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, now=at(MONDAY, 11)
        )
