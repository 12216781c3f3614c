"""What the guest pages share: the calendar-and-times picker (to book and to move), reading a
chosen start time, a booking as its private link shows it, and refusals in the guest's words."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from paddock.bookings import guest as own_booking
from paddock.bookings import service as bookings
from paddock.bookings.models import Booking
from paddock.bookings.policy import guest_may_cancel
from paddock.capacity.engine import Slot
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.catalog.policy import CancellationPolicy, policy_of
from paddock.db import utcnow
from paddock.dealers.errors import AllotmentExhausted
from paddock.errors import Busy, DomainError, HoldExpired, Invalid, NotFound, SoldOut
from paddock.web.guest import calendar, invitations

# A slot chosen before the guest has typed their details is held under this name.
HOLD_GUEST = bookings.Guest("Guest (time on hold)", "hold@paddock.invalid")


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


SlotLoader = Callable[[date, date, datetime], Sequence[Slot]]


def public_product(session: Session, code: str) -> Product:
    product = catalog.get_product(session, code=code)
    if not product.public:
        raise NotFound("This experience is not open for online booking.")
    return product


def make_picker(
    session: Session,
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
        chosen = parse_day(day)
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
    selected = view.find(parse_day(day)) if day else None
    return Picker(
        product, view, selected, product.site.time_zone, nav_url, action_url, secrets.token_hex(8)
    )


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("That start time is not valid; please choose a time again.") from exc
    if moment.tzinfo is None:
        raise Invalid("That start time is not valid; please choose a time again.")
    return moment


def day_url(base: str, start: datetime, time_zone: str) -> str:
    local = start.astimezone(ZoneInfo(time_zone)).date()
    return f"{base}?month={local:%Y-%m}&day={local.isoformat()}"


def guest_message(exc: DomainError) -> str:
    """A refusal in the guest's words (the service's detail is written for staff and logs)."""
    if isinstance(exc, AllotmentExhausted):
        return exc.detail
    if isinstance(exc, SoldOut):
        shortfalls = exc.extra.get("shortfalls") or []
        if shortfalls:
            name = str(shortfalls[0].get("wording", "")).strip() or "places"
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

    @property
    def policy(self) -> CancellationPolicy:
        return policy_of(self.product)

    @property
    def can_cancel(self) -> bool:
        """Online, within the product's cancellation policy."""
        return self.can_change and guest_may_cancel(self.policy, self.result, utcnow())


def booked(session: Session, token: str) -> Booked:
    """The booking behind a private link, with its product and inviting dealer."""
    result = bookings.get_by_token(session, token=token)
    product = catalog.get_product(session, code=result.product_code)
    dealer = invitations.dealer_of(session, result.booking.id)
    return Booked(result, product, result.status, token, dealer)
