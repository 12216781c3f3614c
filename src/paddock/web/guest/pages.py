"""Guest pages: choose an experience, a day and a time (held while the guest types), confirm,
then manage through the private link /b/<token>: calendar file, check-in code, move, cancel."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator

from paddock.bookings import guest as own_booking
from paddock.bookings import per_address
from paddock.bookings import service as bookings
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.engine import Slot
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.dealers import service as dealers
from paddock.dealers.errors import AllotmentExhausted
from paddock.emails import EmailAddress
from paddock.errors import (
    Busy,
    DomainError,
    HoldExpired,
    Invalid,
    InvalidTransition,
    NotFound,
    SoldOut,
    TooManyRequests,
)
from paddock.http import SessionDep, retry_headers
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.forms import read_form
from paddock.web.guest import calendar, ics, invitations, qr
from paddock.web.rendering import render, see_other

router = page_router()

# A slot chosen before the guest has typed their details is held under this name.
HOLD_GUEST = bookings.Guest("Guest (time on hold)", "hold@paddock.invalid")


class DetailsForm(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    email: EmailAddress
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+() .\-]*$")
    code: str = Field(default="", max_length=40)
    notes: str = Field(default="", max_length=2000)

    @field_validator("name")
    @classmethod
    def _name_has_letters(cls, value: str) -> str:
        value = " ".join(value.split())
        if not any(ch.isalpha() for ch in value):
            raise ValueError("a name needs letters")
        return value


@dataclass(frozen=True)
class Picker:
    """The calendar-and-times component, used to book and to move a booking."""

    product: Product
    month: calendar.Month
    day: calendar.Day | None
    zone: str
    nav_url: str  # GET: change month or day
    action_url: str  # POST: take the chosen time
    request_id: str  # makes a double-clicked choice one hold

    def link(self, month: date, day: date | None = None) -> str:
        query = f"month={month:%Y-%m}" + (f"&day={day.isoformat()}" if day else "")
        return f"{self.nav_url}?{query}"


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


def _public_product(session: SessionDep, code: str) -> Product:
    product = catalog.get_product(session, code=code)
    if not product.public:
        raise NotFound("This experience is not open for online booking.")
    return product


SlotLoader = Callable[[date, date, datetime], Sequence[Slot]]


def _picker(
    session: SessionDep,
    product: Product,
    *,
    month: str | None,
    day: str | None,
    nav_url: str,
    action_url: str,
    load: SlotLoader | None = None,
    window: tuple[date, date] | None = None,
) -> Picker:
    """The month around `day` (or `month`), its free times from `load` (the product's
    availability unless given), days outside `window` explained as such."""
    zone = ZoneInfo(product.site.time_zone)
    now = utcnow()
    today = now.astimezone(zone).date()
    first = calendar.parse_month(month, today)
    if day and not month:
        chosen = _parse_day(day)
        if chosen:
            first = calendar.parse_month(chosen.strftime("%Y-%m"), today)
    elif not month and not day and window and window[0] > today:
        first = calendar.parse_month(window[0].strftime("%Y-%m"), today)
    start, last = calendar.month_bounds(first)
    lo, hi = max(start, today), last
    if window:
        lo, hi = max(lo, window[0]), min(hi, window[1])
    if load is None:

        def load(date_from: date, date_to: date, at: datetime) -> Sequence[Slot]:
            return catalog.availability(
                session, product_code=product.code, date_from=date_from, date_to=date_to, now=at
            ).slots

    slots = load(lo, hi, now) if lo <= hi else []
    view = calendar.build_month(first, slots, zone, today, window=window)
    selected = view.find(_parse_day(day)) if day else None
    return Picker(
        product, view, selected, product.site.time_zone, nav_url, action_url, secrets.token_hex(8)
    )


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/book/{code}")
def book(
    request: Request,
    session: SessionDep,
    code: str,
    month: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    product = _public_product(session, code)
    picker = _picker(
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
    product = _public_product(session, code)
    start = _parse_instant(starts_at)
    back = _day_url(f"/book/{product.code}", start, product.site.time_zone)
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


def _parse_instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("That start time is not valid; please choose a time again.") from exc
    if moment.tzinfo is None:
        raise Invalid("That start time is not valid; please choose a time again.")
    return moment


def _day_url(base: str, start: datetime, time_zone: str) -> str:
    local = start.astimezone(ZoneInfo(time_zone)).date()
    return f"{base}?month={local:%Y-%m}&day={local.isoformat()}"


def guest_message(exc: DomainError) -> str:
    """A refusal in the guest's words (the service's detail is written for staff and logs)."""
    if isinstance(exc, AllotmentExhausted):
        return exc.detail
    if isinstance(exc, SoldOut):
        shortfalls = exc.extra.get("shortfalls") or []
        if shortfalls:
            name = str(shortfalls[0].get("pool_name", "")).strip()
            return (
                f"Sorry, that time has just been taken ({name}: none free then). "
                "Please choose another time."
            )
        return "Sorry, that time has just been taken. Please choose another time."
    if isinstance(exc, Busy):
        return "Many people are booking right now. Please try that time again in a moment."
    if isinstance(exc, HoldExpired):
        return (
            "We held that time for you, but the hold has expired and the time was released. "
            "Please choose a time again."
        )
    return exc.detail


# --- details and confirmation -----------------------------------------------------------------


@dataclass(frozen=True)
class Booked:
    result: bookings.BookingResult
    product: Product
    status: str
    token: str
    invited_by: str | None = None  # the dealer whose invitation this booking came through

    @property
    def booking(self) -> Booking:
        return self.result.booking

    @property
    def zone(self) -> str:
        return self.product.site.time_zone

    @property
    def arrive_by(self) -> datetime:
        return self.result.booking.starts_at - timedelta(minutes=self.product.arrive_early_minutes)

    @property
    def upcoming(self) -> bool:
        return self.result.booking.starts_at > utcnow()

    @property
    def can_change(self) -> bool:
        return own_booking.can_change(self.result)


def _booked(session: SessionDep, token: str) -> Booked:
    result = bookings.get_by_token(session, token=token)
    product = catalog.get_product(session, code=result.product_code)
    dealer = invitations.dealer_of(session, result.booking.id)
    return Booked(result, product, result.status, token, dealer)


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
        {"b": booked, "values": values or {}, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/b/{token}/details")
def details(request: Request, session: SessionDep, token: str) -> Response:
    booked = _booked(session, token)
    if booked.status != BookingStatus.HELD:
        return see_other(request, f"/b/{token}")
    return _details_page(request, booked)


@router.post("/b/{token}/details")
async def confirm(request: Request, session: SessionDep, token: str) -> Response:
    booked = _booked(session, token)
    values, errors, form = await read_form(request, DetailsForm)
    if booked.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
        return see_other(request, f"/b/{token}")  # confirmed (a form sent twice), or over
    if form is None:
        return _details_page(request, booked, values, errors, 422)
    guest = bookings.Guest(form.name, str(form.email), form.phone, form.notes)
    if form.code and booked.invited_by is None:
        return _confirm_with_code(request, session, booked, guest, form.code, values)
    try:
        bookings.confirm_with_guest(
            session, ref=booked.booking.ref, guest=guest, actor=own_booking.GUEST_ACTOR
        )
    except HoldExpired as exc:
        flash(request, guest_message(exc), "error")
        start = booked.booking.starts_at
        return see_other(request, _day_url(f"/book/{booked.product.code}", start, booked.zone))
    flash(request, "Your booking is confirmed. See you at the centre!", "success")
    return see_other(request, f"/b/{token}")


def _confirm_with_code(
    request: Request,
    session: SessionDep,
    booked: Booked,
    guest: bookings.Guest,
    code: str,
    values: dict[str, str],
) -> Response:
    """A code typed on the details page: check it, then book the held time with it (the
    hold is given up a moment before, as the code's booking needs the same resources)."""
    booking = booked.booking
    try:
        invitation = invitations.look_up(request, session, code)
        again = invitations.day_url(invitation.code, booked.product, booking.starts_at)
        invitations.check_fits(invitation, booked.product.code, booking.starts_at, booked.zone)
    except TooManyRequests:
        raise  # the error page, with Retry-After
    except DomainError as exc:
        return _details_page(request, booked, values, {"code": exc.detail}, 422)
    if booked.status != BookingStatus.HELD:
        flash(request, guest_message(HoldExpired("expired")), "error")
        return see_other(request, again)
    bookings.cancel_booking(
        session,
        ref=booking.ref,
        reason="Booked again with an invitation code",
        actor=own_booking.GUEST_ACTOR,
    )
    try:
        result = dealers.book_with_code(
            session,
            code=invitation.code,
            product_code=booked.product.code,
            starts_at=booking.starts_at,
            guest=guest,
            idempotency_key=f"web-code:{booking.ref}",
            channel="invitation",
            actor="guest:web",
        )
    except DomainError as exc:
        flash(request, guest_message(exc), "error")
        return see_other(request, again)
    flash(
        request,
        f"Your booking is confirmed, with the invitation of {invitation.dealer_name}.",
        "success",
    )
    return see_other(request, f"/b/{result.booking.manage_token}")


@router.post("/b/{token}/release")
def release(request: Request, session: SessionDep, token: str) -> Response:
    """Give the held time back and choose another."""
    booked = _booked(session, token)
    back = _day_url(f"/book/{booked.product.code}", booked.booking.starts_at, booked.zone)
    if booked.status == BookingStatus.HELD:
        bookings.cancel_booking(
            session,
            ref=booked.booking.ref,
            reason="Hold released by the guest",
            actor=own_booking.GUEST_ACTOR,
        )
    return see_other(request, back)


# --- manage -----------------------------------------------------------------------------------


@router.get("/b/{token}")
def manage(request: Request, session: SessionDep, token: str) -> Response:
    booked = _booked(session, token)
    if booked.status == BookingStatus.HELD:
        return see_other(request, f"/b/{token}/details")
    return render(request, "guest/manage.html", {"b": booked})


@router.get("/b/{token}/calendar.ics")
def calendar_file(request: Request, session: SessionDep, token: str) -> Response:
    booked = _booked(session, token)
    booking = booked.booking
    site = booked.product.site
    body = ics.booking_calendar(
        ref=booking.ref,
        status=booked.status,
        title=booked.product.name,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        time_zone=site.time_zone,
        location=f"{site.name}, {site.city}",
        arrive_early_minutes=booked.product.arrive_early_minutes,
        manage_url=str(request.url_for("manage", token=token)),
        stamp=utcnow(),
        sequence=int((booking.updated_at - booking.created_at).total_seconds()) // 60,
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="paddock-{booking.ref}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


def check_in_url(request: Request, ref: str) -> str:
    secret = str(request.app.state.settings.secret_key)
    return str(request.url_for("scan", token=qr.check_in_token(secret, ref)))


@router.get("/b/{token}/qr.svg")
def check_in_code(request: Request, session: SessionDep, token: str) -> Response:
    booked = _booked(session, token)
    svg = qr.qr_svg(
        check_in_url(request, booked.booking.ref),
        title=f"Check-in code for booking {booked.booking.ref}",
    )
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/b/{token}/move")
def move_page(
    request: Request,
    session: SessionDep,
    token: str,
    month: str | None = None,
    day: Annotated[str | None, Query()] = None,
) -> Response:
    booked = _booked(session, token)
    if not booked.can_change:
        flash(request, "This booking can no longer be moved.", "warning")
        return see_other(request, f"/b/{token}")
    local = booked.booking.starts_at.astimezone(ZoneInfo(booked.zone)).date()
    picker = _picker(
        session,
        booked.product,
        month=month or (None if day else f"{local:%Y-%m}"),
        day=day,
        nav_url=f"/b/{token}/move",
        action_url=f"/b/{token}/move",
    )
    return render(
        request,
        "guest/book.html",
        {"product": booked.product, "picker": picker, "moving": booked},
        partial="guest/_picker.html",
    )


@router.post("/b/{token}/move")
def move(
    request: Request,
    session: SessionDep,
    token: str,
    starts_at: Annotated[str, Form()],
) -> Response:
    booked = _booked(session, token)
    start = _parse_instant(starts_at)
    try:
        own_booking.move(session, token=token, starts_at=start)
    except (SoldOut, Busy, Invalid, InvalidTransition) as exc:
        flash(request, guest_message(exc), "error")
        return see_other(request, _day_url(f"/b/{token}/move", start, booked.zone))
    when = start.astimezone(ZoneInfo(booked.zone)).strftime("%A %-d %B at %H:%M")
    flash(request, f"Your booking is moved to {when}.", "success")
    return see_other(request, f"/b/{token}")


@router.get("/b/{token}/cancel")
def cancel_page(request: Request, session: SessionDep, token: str) -> Response:
    booked = _booked(session, token)
    if not booked.can_change:
        return see_other(request, f"/b/{token}")
    return render(request, "guest/cancel.html", {"b": booked})


@router.post("/b/{token}/cancel")
def cancel(
    request: Request,
    session: SessionDep,
    token: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    booked = _booked(session, token)
    if not booked.can_change:
        flash(request, "This booking can no longer be cancelled online.", "warning")
        return see_other(request, f"/b/{token}")
    own_booking.cancel(session, token=token, reason=reason)
    flash(request, f"Booking {booked.booking.ref} is cancelled.", "success")
    return see_other(request, f"/b/{token}")


# --- invitations ------------------------------------------------------------------------------


@router.get("/invite")
def invite_form(request: Request, code: str = "") -> Response:
    """Where a guest types a code from a dealer's invitation."""
    if code.strip():
        return see_other(request, f"/invite/{dealers.normalize_code(code)}")
    return render(request, "guest/invite_code.html", {"error": "", "code": ""})


@router.get("/invite/{code}")
def invitation(request: Request, session: SessionDep, code: str) -> Response:
    try:
        found = invitations.look_up(request, session, code)
    except DomainError as exc:
        return render(
            request,
            "guest/invite_code.html",
            {"error": exc.detail, "code": code},
            status_code=exc.status,
            headers=retry_headers(exc),
        )
    return render(request, "guest/invitation.html", {"inv": found})


@router.get("/invite/{code}/book/{product_code}")
def invitation_book(
    request: Request,
    session: SessionDep,
    code: str,
    product_code: str,
    month: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    found, product = invitations.invitation_product(request, session, code, product_code)

    def load(date_from: date, date_to: date, at: datetime) -> Sequence[Slot]:
        return dealers.invitation_availability(
            session,
            code=found.code,
            product_code=product.code,
            date_from=date_from,
            date_to=date_to,
            now=at,
        ).slots

    base = f"/invite/{found.code}/book/{product.code}"
    picker = _picker(
        session,
        product,
        month=month,
        day=day,
        nav_url=base,
        action_url=f"{base}/hold",
        load=load,
        window=(found.drive_from, found.drive_to),
    )
    return render(
        request,
        "guest/book.html",
        {"product": product, "picker": picker, "moving": None, "inv": found},
        partial="guest/_picker.html",
    )


@router.post("/invite/{code}/book/{product_code}/hold")
def invitation_hold(
    request: Request,
    session: SessionDep,
    code: str,
    product_code: str,
    starts_at: Annotated[str, Form()],
    request_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    per_address.admit(request)
    found, product = invitations.invitation_product(request, session, code, product_code)
    start = _parse_instant(starts_at)
    try:
        result = dealers.book_with_code(
            session,
            code=found.code,
            product_code=product.code,
            starts_at=start,
            guest=HOLD_GUEST,
            hold=True,
            hold_minutes=request.app.state.settings.hold_minutes,
            idempotency_key=f"web-code-hold:{request_id}:{starts_at}" if request_id else None,
            channel="invitation",
            actor="guest:web",
        )
    except DomainError as exc:
        flash(request, guest_message(exc), "error")
        return see_other(request, invitations.day_url(found.code, product, start))
    return see_other(request, f"/b/{result.booking.manage_token}/details")
