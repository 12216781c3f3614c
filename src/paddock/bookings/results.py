"""Bookings as read: a booking with its resources and product code (`BookingResult`), its
effective status, and the look-ups (by reference, by manage token, lists, history)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings.drafts import ENGAGEMENT
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity import service as capacity
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.errors import NotFound


@dataclass(frozen=True)
class Resource:
    pool_id: int
    unit_id: int
    unit_label: str
    starts_at: datetime
    ends_at: datetime


@dataclass
class BookingResult:
    booking: Booking
    product_code: str
    resources: list[Resource] = field(default_factory=list)
    replayed: bool = False

    @property
    def status(self) -> str:
        return effective_status(self.booking, utcnow())


def effective_status(booking: Booking, now: datetime) -> str:
    """A hold past its expiry is expired even before the sweeper has written it."""
    if (
        booking.status == BookingStatus.HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now
    ):
        return BookingStatus.EXPIRED
    return booking.status


def get_booking(session: Session, *, ref: str) -> BookingResult:
    booking = session.scalar(select(Booking).where(Booking.ref == ref.upper()))
    if booking is None:
        raise NotFound(f"No booking with reference '{ref}'.")
    return with_resources(session, booking)


def get_by_token(session: Session, *, token: str) -> BookingResult:
    booking = session.scalar(select(Booking).where(Booking.manage_token == token))
    if booking is None:
        raise NotFound("This booking link is not valid.")
    return with_resources(session, booking)


def list_bookings(
    session: Session,
    *,
    site_id: int | None = None,
    day_from: datetime | None = None,
    day_to: datetime | None = None,
    status: str | None = None,
    email: str | None = None,
    limit: int = 50,
    after_id: int | None = None,
) -> list[BookingResult]:
    query = select(Booking)
    if site_id is not None:
        query = query.where(Booking.site_id == site_id)
    if day_from is not None:
        query = query.where(Booking.starts_at >= day_from)
    if day_to is not None:
        query = query.where(Booking.starts_at < day_to)
    if status:
        query = query.where(Booking.status == status)
    if email:
        query = query.where(func.lower(Booking.guest_email) == email.lower())
    if after_id is not None:
        query = query.where(Booking.id > after_id)
    rows = session.scalars(query.order_by(Booking.id).limit(min(limit, 500))).all()
    return results_of(session, rows)


def history(session: Session, *, ref: str) -> Sequence[AuditEntry]:
    booking = get_booking(session, ref=ref).booking
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_kind == ENGAGEMENT, AuditEntry.subject_id == booking.id)
        .order_by(AuditEntry.id)
    ).all()


def local_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:

    zone = ZoneInfo(time_zone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start, end


def with_resources(session: Session, booking: Booking) -> BookingResult:
    return results_of(session, [booking])[0]


def results_of(session: Session, bookings: Sequence[Booking]) -> list[BookingResult]:
    """Bookings with their resources and product codes, in two queries whatever their number."""
    held = capacity.allocations_of(session, ENGAGEMENT, [b.id for b in bookings])
    product_ids = {b.product_id for b in bookings}
    codes = (
        dict(
            session.execute(
                select(Product.id, Product.code).where(Product.id.in_(product_ids))
            ).all()
        )
        if product_ids
        else {}
    )
    # End the read transaction: a later read on this session must see other writers' commits.
    session.commit()
    return [
        BookingResult(
            b,
            codes.get(b.product_id) or "?",
            [Resource(pool, unit, label, s, e) for unit, pool, label, s, e in held.get(b.id, [])],
        )
        for b in bookings
    ]
