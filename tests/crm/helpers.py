"""Small CRM worlds: dealers, bookings that happened (checked in, completed, no-show) and their
dealer attribution, built through the real booking service."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.dealers.models import BookingAttribution, Dealer
from tests.factories import at


def make_dealer(session: Session, code: str = "D-ATL-001", name: str = "Atlanta Motors") -> Dealer:
    dealer = Dealer(code=code, name=name, city="Atlanta", state="GA", region="Southeast")
    session.add(dealer)
    session.commit()
    return dealer


def attribute(session: Session, booking_id: int, dealer_id: int) -> None:
    session.execute(
        insert(BookingAttribution),
        {
            "booking_id": booking_id,
            "dealer_id": dealer_id,
            "created_at": datetime.now().astimezone(),
        },
    )
    session.commit()


def visit(
    session: Session,
    *,
    email: str,
    name: str = "Ann Lee",
    day: date,
    hour: int = 10,
    product: str = "drive",
    outcome: str = "completed",
    dealer_id: int | None = None,
) -> bookings.BookingResult:
    """A booking made a week before, then checked in and completed (or a no-show, or left
    confirmed); `dealer_id` attributes it to that dealer from the start."""
    start = at(day, hour)
    booked_at = start - timedelta(days=7)

    def attribution(inner: Session, booking_id: int) -> None:
        if dealer_id is not None:
            inner.execute(
                insert(BookingAttribution),
                {"booking_id": booking_id, "dealer_id": dealer_id, "created_at": booked_at},
            )

    result = bookings.create_booking(
        session,
        product_code=product,
        starts_at=start,
        guest=bookings.Guest(name, email),
        now=booked_at,
        on_admitted=attribution,
    )
    ref = result.booking.ref
    if outcome in ("checked_in", "completed"):
        bookings.check_in(session, ref=ref, now=start - timedelta(minutes=20))
    if outcome == "completed":
        bookings.complete(session, ref=ref, now=start + timedelta(minutes=95))
    if outcome == "no_show":
        bookings.mark_no_show(session, ref=ref, now=start + timedelta(minutes=30))
    if outcome == "cancelled":
        bookings.cancel_booking(session, ref=ref, now=booked_at + timedelta(hours=1))
    return bookings.get_booking(session, ref=ref)
