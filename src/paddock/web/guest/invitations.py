"""What the guest pages need to know about dealer invitations (reads only; booking with a
code is dealers.service.book_with_code)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.catalog.models import Product
from paddock.dealers.errors import InvitationNotValidForDate, InvitationNotValidForProduct
from paddock.dealers.models import BookingAttribution, Dealer
from paddock.dealers.service import Invitation


def dealer_of(session: Session, booking_id: int) -> str | None:
    """The name of the dealer whose invitation the booking came through, if any."""
    return session.scalar(
        select(Dealer.name)
        .join(BookingAttribution, BookingAttribution.dealer_id == Dealer.id)
        .where(BookingAttribution.booking_id == booking_id)
    )


def check_fits(invitation: Invitation, product_code: str, starts_at: datetime, zone: str) -> None:
    """Refuse, in the guest's words, a code that is not for this experience or this day."""
    allowed = {p.code for p in invitation.products}
    if product_code not in allowed:
        names = ", ".join(p.name for p in invitation.products) or "no experience"
        raise InvitationNotValidForProduct(
            f"This invitation is for {names}, not for the experience you chose."
        )
    day = starts_at.astimezone(ZoneInfo(zone)).date()
    if not invitation.drive_from <= day <= invitation.drive_to:
        raise InvitationNotValidForDate(
            f"This invitation is for drives from {invitation.drive_from:%-d %B} to "
            f"{invitation.drive_to:%-d %B %Y}; please choose a day in that range."
        )


def day_url(code: str, product: Product, starts_at: datetime) -> str:
    """The invitation's calendar at the day of a booking (to choose again)."""
    day = starts_at.astimezone(ZoneInfo(product.site.time_zone)).date()
    return f"/invite/{code}/book/{product.code}?month={day:%Y-%m}&day={day.isoformat()}"
