"""A code typed while confirming a held booking (the guest's details page): one transaction that
keeps the booking's row, reference and units, takes one dealer place, counts the code's use once;
a refused code leaves the hold as it was, and two holds racing for the last place (real threads,
real database) end with exactly one confirmed."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paddock.bookings import service as bookings
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Allocation
from paddock.dealers import service
from paddock.dealers.errors import (
    AllotmentExhausted,
    InvitationNotFound,
    InvitationNotValidForProduct,
    InvitationUsedUp,
)
from paddock.dealers.models import BookingAttribution, DealerAllotment, InvitationCode
from paddock.errors import DomainError, HoldExpired
from tests.dealers.conftest import STAFF, DealerWorld, make_dealer_world
from tests.factories import MONDAY, at, booking_units

GUEST = bookings.Guest("Ann Lee", "ann@example.com", "+1 404 555 0101", "left-handed")
NOW = at(MONDAY, 7) - timedelta(days=2)
CODE = "HOLD-CODE-K47"


def _hold(
    session: Session, *, hour: int = 9, day: int = 0, product: str = "drive"
) -> bookings.BookingResult:
    return bookings.create_booking(
        session,
        product_code=product,
        starts_at=at(MONDAY + timedelta(days=day), hour),
        guest=bookings.Guest("Guest (time on hold)", "hold@paddock.invalid"),
        hold=True,
        hold_minutes=30,
        channel="web",
        now=NOW,
    )


def _world(session: Session, *, places: int = 4, max_uses: int | None = 2) -> DealerWorld:
    dw = make_dealer_world(session, places=places, cars=4, coaches=4, positions=8)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code=CODE, max_uses=max_uses
    )
    return dw


def _places_taken(session: Session) -> list[int]:
    """The bookings holding one of a dealer's places."""
    rows = session.scalars(
        select(Allocation.engagement_id)
        .join(DealerAllotment, DealerAllotment.pool_id == Allocation.pool_id)
        .where(Allocation.active.is_(True))
        .order_by(Allocation.engagement_id)
    ).all()
    session.rollback()
    return [int(b) for b in rows]


def _uses(session: Session) -> int:
    uses = session.scalar(select(InvitationCode.uses).where(InvitationCode.code == CODE))
    session.rollback()
    return int(uses or 0)


def test_the_hold_is_confirmed_with_the_code_keeping_its_reference_andbooking_units(
    session: Session,
) -> None:
    _world(session)
    held = _hold(session)
    booking_id, ref, token = held.booking.id, held.booking.ref, held.booking.manage_token
    units = booking_units(session, booking_id)

    done = service.confirm_hold_with_code(
        session, ref=ref, code=" hold-code-k47 ", guest=GUEST, now=NOW + timedelta(minutes=5)
    )

    assert done.invitation.dealer_name == "Hudson Motors"
    booking = done.result.booking
    assert (booking.id, booking.ref, booking.manage_token) == (booking_id, ref, token)
    assert booking.status == BookingStatus.CONFIRMED and booking.hold_expires_at is None
    assert (booking.guest_name, booking.guest_email, booking.guest_phone, booking.notes) == (
        "Ann Lee",
        "ann@example.com",
        "+1 404 555 0101",
        "left-handed",
    )
    assert booking.channel == "invitation"
    assert session.scalar(select(func.count()).select_from(Booking)) == 1
    # The same units, plus one dealer place; nothing left to lapse.
    after = booking_units(session, booking_id)
    assert set(units) < set(after) and len(after) == len(units) + 1
    assert _places_taken(session) == [booking_id]
    assert (
        session.scalar(
            select(func.count())
            .select_from(Allocation)
            .where(Allocation.engagement_id == booking_id, Allocation.expires_at.is_not(None))
        )
        == 0
    )
    assert _uses(session) == 1
    attribution = session.get(BookingAttribution, booking_id)
    assert attribution is not None and attribution.invitation_code_id is not None
    session.rollback()

    # Sent again, it is refused and counts nothing twice.
    with pytest.raises(DomainError):
        service.confirm_hold_with_code(session, ref=ref, code=CODE, guest=GUEST, now=NOW)
    assert _uses(session) == 1 and _places_taken(session) == [booking_id]


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        ("unknown", InvitationNotFound),
        ("used up", InvitationUsedUp),
        ("no place", AllotmentExhausted),
        ("other product", InvitationNotValidForProduct),
    ],
)
def test_a_refused_code_leaves_the_hold_as_it_was(
    session: Session, spoil: str, error: type[DomainError]
) -> None:
    dw = _world(session, places=1, max_uses=1)
    code = "NOPE-NOPE-K47" if spoil == "unknown" else CODE
    if spoil == "used up":
        session.execute(
            InvitationCode.__table__.update().where(InvitationCode.code == CODE).values(uses=1)
        )
        session.commit()
    if spoil == "no place":
        other = service.create_code(
            session, scope=STAFF, campaign_id=dw.campaign.id, code="OTHER-GUEST-K47", max_uses=1
        )
        service.book_with_code(
            session,
            code=other.code,
            product_code="drive",
            starts_at=at(MONDAY, 11),
            guest=GUEST,
            now=NOW,
        )
    held = _hold(session, product="sim" if spoil == "other product" else "drive")
    before = session.get(Booking, held.booking.id)
    assert before is not None
    snapshot = (before.ref, before.status, before.hold_expires_at, before.guest_email)
    session.rollback()
    units = booking_units(session, held.booking.id)
    places = _places_taken(session)
    uses = _uses(session)

    with pytest.raises(error):
        service.confirm_hold_with_code(
            session, ref=held.booking.ref, code=code, guest=GUEST, now=NOW
        )

    after = session.get(Booking, held.booking.id)
    assert after is not None
    assert (after.ref, after.status, after.hold_expires_at, after.guest_email) == snapshot
    session.rollback()
    assert booking_units(session, held.booking.id) == units
    assert _places_taken(session) == places and _uses(session) == uses
    assert session.get(BookingAttribution, held.booking.id) is None


def test_an_expired_hold_is_not_confirmed_and_counts_nothing(session: Session) -> None:
    _world(session)
    held = _hold(session)
    with pytest.raises(HoldExpired):
        service.confirm_hold_with_code(
            session, ref=held.booking.ref, code=CODE, guest=GUEST, now=NOW + timedelta(hours=1)
        )
    assert _uses(session) == 0 and _places_taken(session) == []
    assert session.get(BookingAttribution, held.booking.id) is None


def test_two_holds_racing_for_the_dealers_last_place_one_is_confirmed(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    _world(session, places=1, max_uses=None)
    refs = [_hold(session, hour=9).booking.ref, _hold(session, hour=11, day=1).booking.ref]
    barrier = threading.Barrier(len(refs))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def confirm(ref: str) -> None:
        with session_factory() as own:
            barrier.wait()
            try:
                service.confirm_hold_with_code(own, ref=ref, code=CODE, guest=GUEST, now=NOW)
                outcome = "confirmed"
            except DomainError as exc:
                outcome = exc.code
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=confirm, args=(ref,)) for ref in refs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes["confirmed"] == 1, outcomes
    assert set(outcomes) <= {"confirmed", "allotment-exhausted", "busy"}, outcomes
    statuses = Counter(session.scalars(select(Booking.status).where(Booking.ref.in_(refs))).all())
    assert statuses == Counter({BookingStatus.CONFIRMED: 1, BookingStatus.HELD: 1})
    winner = session.scalar(select(Booking.id).where(Booking.status == BookingStatus.CONFIRMED))
    session.rollback()
    assert _places_taken(session) == [winner]
    assert _uses(session) == 1
    assert session.scalar(select(func.count()).select_from(BookingAttribution)) == 1
