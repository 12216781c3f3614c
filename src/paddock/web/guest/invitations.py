"""What the guest pages need to know about dealer invitations (reads only; booking with a
code is dealers.service.book_with_code). A code the guest typed is looked up through the
address's guess count (dealers.guessing), as in the API."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.dealers import service as dealers
from paddock.dealers.errors import InvitationNotValidForDate, InvitationNotValidForProduct
from paddock.dealers.guessing import code_guesses
from paddock.dealers.models import BookingAttribution, Dealer
from paddock.dealers.service import Invitation
from paddock.errors import NotFound


def look_up(request: Request, session: Session, code: str) -> Invitation:
    """The invitation of a code the guest typed or followed (an unknown one counts as a guess
    from their address; past the limit, 429)."""
    with code_guesses(request):
        return dealers.get_invitation(session, code=code)


def invitation_product(
    request: Request, session: Session, code: str, product_code: str
) -> tuple[Invitation, Product]:
    found = look_up(request, session, code)
    if product_code not in {p.code for p in found.products}:
        raise NotFound("This invitation does not include that experience.")
    return found, catalog.get_product(session, code=product_code)


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
