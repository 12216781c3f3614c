"""The guest books: choose an experience, a day and a time (held while the guest types), then
confirm with their details (and an invitation code, if they have one) or give the time back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from paddock.bookings import guest as own_booking
from paddock.bookings import per_address
from paddock.bookings import service as bookings
from paddock.bookings.models import Booking, BookingStatus
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.crm import booking_consents
from paddock.dealers import service as dealers
from paddock.dealers.guessing import code_guesses
from paddock.emails import EmailAddress
from paddock.errors import (
    Busy,
    DomainError,
    HoldExpired,
    Invalid,
    InvalidTransition,
    SoldOut,
    TooManyRequests,
)
from paddock.http import SessionDep
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.forms import read_form
from paddock.web.guest import invitations
from paddock.web.guest.shared import (
    HOLD_GUEST,
    Booked,
    booked,
    day_url,
    guest_message,
    make_picker,
    parse_instant,
    public_product,
)
from paddock.web.rendering import render, see_other

router = page_router()


class DetailsForm(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    email: EmailAddress
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+() .\-]*$")
    code: str = Field(default="", max_length=40)
    notes: str = Field(default="", max_length=2000)
    # Checkboxes: sent only when ticked. The terms are required to book.
    terms: bool = Field(default=False, validate_default=True)
    marketing: bool = False

    @field_validator("terms", mode="before")
    @classmethod
    def _terms_accepted(cls, value: object) -> bool:
        if value not in (True, "on", "true", "1"):
            raise ValueError("please accept the booking terms to book")
        return True

    @field_validator("name")
    @classmethod
    def _name_has_letters(cls, value: str) -> str:
        value = " ".join(value.split())
        if not any(ch.isalpha() for ch in value):
            raise ValueError("a name needs letters")
        return value


# --- choose -----------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, session: SessionDep, site: str | None = None) -> HTMLResponse:
    products = catalog.list_products(session)
    by_site: dict[int, list[Product]] = defaultdict(list)
    for product in products:
        by_site[product.site_id].append(product)
    # Only experience centres: the motorsport support organisation is a site too.
    sites = [s for s in catalog.list_sites(session) if by_site.get(s.id)]
    chosen = next((s for s in sites if s.code == (site or "").upper()), sites[0] if sites else None)
    return render(
        request,
        "guest/home.html",
        {"sites": sites, "site": chosen, "products": by_site.get(chosen.id, []) if chosen else []},
    )


@router.get("/book/{code}")
def book(
    request: Request,
    session: SessionDep,
    code: str,
    month: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    product = public_product(session, code)
    picker = make_picker(
        session,
        product,
        month=month,
        day=day,
        nav_url=f"/book/{product.code}",
        action_url=f"/book/{product.code}/hold",
    )
    return render(
        request,
        "guest/book.html",
        {"product": product, "picker": picker, "moving": None},
        partial="guest/_picker.html",
    )


@router.post("/book/{code}/hold")
def hold(
    request: Request,
    session: SessionDep,
    code: str,
    starts_at: Annotated[str, Form()],
    request_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    per_address.admit(request)  # bookings per address, as the API counts them
    product = public_product(session, code)
    start = parse_instant(starts_at)
    back = day_url(f"/book/{product.code}", start, product.site.time_zone)
    settings = request.app.state.settings
    try:
        result = bookings.create_booking(
            session,
            product_code=product.code,
            starts_at=start,
            guest=HOLD_GUEST,
            hold=True,
            hold_minutes=settings.hold_minutes,
            idempotency_key=f"web-hold:{request_id}:{starts_at}" if request_id else None,
            channel="web",
            actor="guest:web",
        )
    except (SoldOut, Busy, Invalid) as exc:
        flash(request, guest_message(exc), "error")
        return see_other(request, back)
    return see_other(request, f"/b/{result.booking.manage_token}/details")


# --- details and confirmation -----------------------------------------------------------------


def _details_page(
    request: Request,
    booked: Booked,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "guest/details.html",
        {
            "b": booked,
            "values": values or {},
            "errors": errors or {},
            "terms_text": booking_consents.TERMS_TEXT,
            "marketing_text": booking_consents.MARKETING_TEXT,
        },
        status_code=status_code,
    )


@router.get("/b/{token}/details")
def details(request: Request, session: SessionDep, token: str) -> Response:
    found = booked(session, token)
    if found.status != BookingStatus.HELD:
        return see_other(request, f"/b/{token}")
    return _details_page(request, found, invitations.invitee_details(session, found.booking.id))


@router.post("/b/{token}/details")
async def confirm(request: Request, session: SessionDep, token: str) -> Response:
    found = booked(session, token)
    values, errors, form = await read_form(request, DetailsForm)
    if found.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
        return see_other(request, f"/b/{token}")  # confirmed (a form sent twice), or over
    if form is None:
        return _details_page(request, found, values, errors, 422)
    guest = bookings.Guest(form.name, str(form.email), form.phone, form.notes)
    consents = booking_consents.recorder(booking_consents.BookingConsents(True, form.marketing))
    if form.code and found.invited_by is None:
        return _confirm_with_code(request, session, found, guest, form.code, values, consents)
    try:
        bookings.confirm_with_guest(
            session,
            ref=found.booking.ref,
            guest=guest,
            actor=own_booking.GUEST_ACTOR,
            on_confirmed=consents,
        )
    except HoldExpired as exc:
        return _hold_expired(request, exc, _choose_again(found))
    flash(request, "Your booking is confirmed. See you at the centre!", "success")
    return see_other(request, f"/b/{token}")


def _confirm_with_code(
    request: Request,
    session: SessionDep,
    found: Booked,
    guest: bookings.Guest,
    code: str,
    values: dict[str, str],
    consents: Callable[[Session, Booking], None],
) -> Response:
    """A code typed on the details page: the hold is confirmed with it, keeping its reference
    (one transaction in dealers), or it stays as it was and the code's refusal is shown."""
    try:
        with code_guesses(request):
            done = dealers.confirm_hold_with_code(
                session,
                ref=found.booking.ref,
                code=code,
                guest=guest,
                actor=own_booking.GUEST_ACTOR,
                on_confirmed=consents,
            )
    except TooManyRequests:
        raise  # the error page, with Retry-After
    except HoldExpired as exc:
        start = found.booking.starts_at
        again = invitations.day_url(dealers.normalize_code(code), found.product, start)
        return _hold_expired(request, exc, again)
    except InvalidTransition:
        return see_other(request, f"/b/{found.token}")  # confirmed meanwhile (a form sent twice)
    except DomainError as exc:
        return _details_page(request, found, values, {"code": guest_message(exc)}, 422)
    flash(
        request,
        f"Your booking is confirmed, with the invitation of {done.invitation.dealer_name}.",
        "success",
    )
    return see_other(request, f"/b/{found.token}")


def _choose_again(found: Booked) -> str:
    """The product's calendar at the day of the booking."""
    return day_url(f"/book/{found.product.code}", found.booking.starts_at, found.zone)


def _hold_expired(request: Request, exc: HoldExpired, again: str) -> Response:
    flash(request, guest_message(exc), "error")
    return see_other(request, again)


@router.post("/b/{token}/release")
def release(request: Request, session: SessionDep, token: str) -> Response:
    """Give the held time back and choose another."""
    found = booked(session, token)
    back = _choose_again(found)
    if found.status == BookingStatus.HELD:
        bookings.cancel_booking(
            session,
            ref=found.booking.ref,
            reason="Hold released by the guest",
            actor=own_booking.GUEST_ACTOR,
        )
    return see_other(request, back)
