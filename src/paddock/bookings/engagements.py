"""How bookings appear to the capacity core's operations: a block refused because of
bookings names them by reference and guest, so operations staff can move them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings.models import Booking
from paddock.capacity import operations

ENGAGEMENT = "booking"


def describe(session: Session, booking_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        select(Booking.id, Booking.ref, Booking.guest_name).where(Booking.id.in_(booking_ids))
    )
    return {ident: f"booking {ref} ({guest})" for ident, ref, guest in rows}


def register() -> None:
    """Called once where the application is put together (the app and the CLI)."""
    operations.register_describer(ENGAGEMENT, describe)
