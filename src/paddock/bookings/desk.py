"""The operations desk's use cases on bookings: a booking taken by phone, a cancellation with a
reason, a car blocked with its bookings moved (and the guests to call when one could not be),
and the day's run sheet. Each reuses the booking and capacity services; what is new here is
who acts (the staff member, as the audit's actor), the channel and the reason.

Staff are not bound by the guests' own cancellation deadline: the desk cancels through the
service itself, not through the guest's manage link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings import service
from paddock.bookings.drafts import ENGAGEMENT
from paddock.bookings.models import Booking
from paddock.capacity import operations
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.errors import Invalid
from paddock.unit_of_work import end_read

PHONE = "phone"
MIN_REASON, MAX_REASON = 3, 500


def take_phone_booking(
    session: Session,
    *,
    product_code: str,
    starts_at: datetime,
    guest: service.Guest,
    actor: str,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> service.BookingResult:
    """A booking a member of staff takes on the phone: confirmed at once, channel "phone",
    the staff member as its actor. Products not open online (deliveries...) may be booked.
    The same `idempotency_key` (a form sent twice) gives the first booking again."""
    return service.create_booking(
        session,
        product_code=product_code,
        starts_at=starts_at,
        guest=guest,
        channel=PHONE,
        actor=actor,
        idempotency_key=idempotency_key,
        now=now,
    )


def cancel_with_reason(
    session: Session, *, ref: str, reason: str, actor: str, now: datetime | None = None
) -> service.BookingResult:
    """Cancel for the guest (by phone, at the desk), saying why: the reason is kept on the
    booking and in its audit entry. No guest deadline applies to staff."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise Invalid(f"Say why the booking is cancelled (at least {MIN_REASON} characters).")
    if len(reason) > MAX_REASON:
        raise Invalid(f"Keep the reason under {MAX_REASON} characters.")
    # A booking left on a blocked unit gives its time back to the block (cancel_booking).
    return service.cancel_booking(session, ref=ref, reason=reason, actor=actor, now=now)


# --- a car blocked, its bookings moved --------------------------------------------------------


@dataclass(frozen=True)
class MovedBooking:
    ref: str
    guest_name: str
    starts_at: datetime
    from_unit: str
    to_unit: str


@dataclass(frozen=True)
class GuestToCall:
    """A booking that stays on the blocked unit: whom to call, about what."""

    ref: str
    guest_name: str
    guest_email: str
    guest_phone: str
    product: str
    starts_at: datetime
    ends_at: datetime
    unit: str


@dataclass
class BlockReport:
    outcome: operations.BlockOutcome
    moved: list[MovedBooking] = field(default_factory=list)
    to_call: list[GuestToCall] = field(default_factory=list)
    # Engagements of other kinds (a dealer's place, a race entry) left on the unit.
    others: list[operations.Held] = field(default_factory=list)


def block_and_move(
    session: Session,
    *,
    unit_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    kind: str = "maintenance",
    actor: str,
    now: datetime | None = None,
) -> BlockReport:
    """Block a unit for a time and move its bookings then to free units of the same model, in
    one transaction; the bookings that fit nowhere stay, with their guests to call."""
    outcome = operations.block_and_move(
        session,
        unit_id=unit_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        kind=kind,
        actor=actor,
        now=now or utcnow(),
    )
    ids = {h.id for h in outcome.stranded if h.kind == ENGAGEMENT}
    ids |= {m.held.id for m in outcome.moved if m.held.kind == ENGAGEMENT}
    rows = _bookings(session, ids)
    report = BlockReport(outcome)
    for m in outcome.moved:
        if m.held.kind == ENGAGEMENT and m.held.id in rows:
            b, _ = rows[m.held.id]
            report.moved.append(
                MovedBooking(b.ref, b.guest_name, m.held.starts_at, m.held.unit_label, m.to_unit)
            )
    for h in outcome.stranded:
        if h.kind == ENGAGEMENT and h.id in rows:
            b, product = rows[h.id]
            report.to_call.append(
                GuestToCall(
                    b.ref,
                    b.guest_name,
                    b.guest_email,
                    b.guest_phone,
                    product,
                    b.starts_at,
                    b.ends_at,
                    h.unit_label,
                )
            )
        else:
            report.others.append(h)
    end_read(session)
    return report


def _bookings(session: Session, ids: set[int]) -> dict[int, tuple[Booking, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Booking, Product.name)
        .join(Product, Product.id == Booking.product_id)
        .where(Booking.id.in_(sorted(ids)))
    ).all()
    return {b.id: (b, name) for b, name in rows}


# --- the day's run sheet ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunSheetLine:
    ref: str
    starts_at: datetime
    ends_at: datetime
    status: str
    product: str
    guest_name: str
    guest_phone: str
    guest_email: str
    channel: str
    notes: str
    units: tuple[str, ...]


@dataclass(frozen=True)
class RunSheet:
    site_code: str
    site_name: str
    time_zone: str
    day: date
    lines: Sequence[RunSheetLine]


RUN_SHEET_STATUSES = ("held", "confirmed", "checked_in", "completed", "no_show")


def run_sheet(
    session: Session, *, site_code: str, day: date, unit_id: int | None = None
) -> RunSheet:
    """A site's bookings on one local day in start order with guests, phones and units; with
    `unit_id` only those holding that unit (a coach's own day)."""
    site = operations.get_site(session, code=site_code)
    start, end = operations.day_bounds(day, site.time_zone)
    rows = session.scalars(
        select(Booking)
        .where(
            Booking.site_id == site.id,
            Booking.starts_at >= start,
            Booking.starts_at < end,
            Booking.status.in_(RUN_SHEET_STATUSES),
        )
        .order_by(Booking.starts_at, Booking.ref)
    ).all()
    names = dict(
        session.execute(
            select(Product.id, Product.name).where(Product.id.in_({b.product_id for b in rows}))
        ).all()
    )
    lines = []
    for result in service.results_of(session, rows):
        if unit_id is not None and unit_id not in {r.unit_id for r in result.resources}:
            continue
        if result.status not in RUN_SHEET_STATUSES:
            continue  # a hold that lapsed
        b = result.booking
        units = tuple(dict.fromkeys(r.unit_label for r in result.resources))
        lines.append(
            RunSheetLine(
                b.ref,
                b.starts_at,
                b.ends_at,
                result.status,
                names.get(b.product_id, "?"),
                b.guest_name,
                b.guest_phone,
                b.guest_email,
                b.channel,
                b.notes,
                units,
            )
        )
    return RunSheet(site.code, site.name, site.time_zone, day, lines)
