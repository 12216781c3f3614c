"""What the guest pages need to know about dealer invitations (reads only; booking with a
code is dealers.service.book_with_code, confirming a hold with one confirm_hold_with_code).
A code the guest typed is looked up through the address's guess count (dealers.guessing), as
in the API."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.dealers import service as dealers
from paddock.dealers.guessing import code_guesses
from paddock.dealers.models import BookingAttribution, Dealer, Invitee
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


def invitee_details(session: Session, booking_id: int) -> dict[str, str]:
    """The name and e-mail of the person a personal invitation was issued to, when the booking
    came through one (to prefill the guest's details); empty otherwise."""
    row = session.execute(
        select(Invitee.name, Invitee.email)
        .join(BookingAttribution, BookingAttribution.invitee_id == Invitee.id)
        .where(BookingAttribution.booking_id == booking_id)
    ).first()
    return {"name": row.name, "email": row.email} if row else {}


def day_url(code: str, product: Product, starts_at: datetime) -> str:
    """The invitation's calendar at the day of a booking (to choose again)."""
    day = starts_at.astimezone(ZoneInfo(product.site.time_zone)).date()
    return f"/invite/{code}/book/{product.code}?month={day:%Y-%m}&day={day.isoformat()}"
