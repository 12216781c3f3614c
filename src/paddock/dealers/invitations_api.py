"""The public invitation endpoints a guest's link leads to: what a code allows, its free start
times, and booking with it. No sign-in; unknown codes from one address are throttled
(`guessing`), and these routes are listed as public in `accounts/access.py`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session

from paddock.bookings import per_address
from paddock.bookings import service as bookings
from paddock.bookings.schemas import BookingCreate, BookingRead
from paddock.catalog.schemas import SlotRead, slot_answers
from paddock.db import utcnow
from paddock.dealers import service
from paddock.dealers.guessing import code_guesses
from paddock.dealers.schemas import (
    InvitationAvailabilityRead,
    InvitationDealer,
    InvitationProductRead,
    InvitationRead,
)
from paddock.http import SessionDep
from paddock.limits import Day
from paddock.mapping import to_schema
from paddock.money import from_minor

router = APIRouter(prefix="/api/v1")


# Public: the guest's invitation -----------------------------------------------------------


@router.get("/invitations/{code}", response_model=InvitationRead, tags=["invitations"])
def get_invitation(code: str, request: Request, session: SessionDep) -> InvitationRead:
    """What an invitation allows: the dealer, the experiences and the dates. Case and spaces
    in the code do not matter. 404 unknown, 410 expired or withdrawn, 409 used up; 429 after
    many unknown codes from one address."""
    with code_guesses(request):
        inv = service.get_invitation(session, code=code)
    return to_schema(
        InvitationRead,
        inv,
        dealer=InvitationDealer(
            code=inv.dealer_code, name=inv.dealer_name, city=inv.dealer_city, state=inv.dealer_state
        ),
        campaign=inv.campaign_name,
        products=[
            to_schema(InvitationProductRead, p, price=from_minor(p.price_cents, p.currency))
            for p in inv.products
        ],
    )


@router.get(
    "/invitations/{code}/availability",
    response_model=InvitationAvailabilityRead,
    tags=["invitations"],
)
def invitation_availability(
    code: str,
    request: Request,
    session: SessionDep,
    product: str,
    date_from: Annotated[Day, Query(alias="from")],
    date_to: Day | None = Query(default=None, alias="to"),
) -> InvitationAvailabilityRead:
    """Free start times for one of the invitation's experiences, within its dates and the
    dealer's places left per month."""
    with code_guesses(request):
        result = service.invitation_availability(
            session,
            code=code,
            product_code=product,
            date_from=date_from,
            date_to=date_to or date_from + timedelta(days=29),
            now=utcnow(),
        )
    zone = ZoneInfo(result.time_zone)
    return to_schema(
        InvitationAvailabilityRead,
        result,
        code=result.invitation.code,
        product=result.product.code,
        places_left={f"{m:%Y-%m}": n for m, n in result.places_left.items()},
        slots=[SlotRead.model_validate(s) for s in slot_answers(result.slots, zone)],
    )


@router.post(
    "/invitations/{code}/bookings",
    response_model=BookingRead,
    status_code=201,
    tags=["invitations"],
    responses={
        404: {"description": "Unknown code"},
        409: {"description": "Used up, sold out, or the dealer's places are all taken"},
        410: {"description": "Expired or withdrawn"},
        422: {"description": "Not valid for this experience or date"},
    },
)
def book_with_code(
    code: str,
    body: BookingCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> BookingRead:
    """Book with an invitation: the booking is attributed to the dealer (and the invitee of
    a personal code) and takes one of the dealer's places for the month."""
    per_address.admit(request)
    with code_guesses(request):
        result = _book(code, body, request, session, idempotency_key)
    if result.replayed:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/bookings/{result.booking.ref}"
    return BookingRead.from_result(result, with_token=True)


def _book(
    code: str,
    body: BookingCreate,
    request: Request,
    session: Session,
    idempotency_key: str | None,
) -> bookings.BookingResult:
    return service.book_with_code(
        session,
        code=code,
        product_code=body.product,
        starts_at=body.starts_at,
        guest=bookings.Guest(body.guest.name, str(body.guest.email), body.guest.phone, body.notes),
        hold=body.hold,
        hold_minutes=request.app.state.settings.hold_minutes,
        idempotency_key=idempotency_key,
        channel="invitation",
        actor=f"guest:{body.guest.email}",
    )
