"""What every change of a booking shares: the row locked for the change, the allowed transitions,
the status written with its audit entry, and the hooks of the programmes built on bookings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.bookings.drafts import ENGAGEMENT, audit_row
from paddock.bookings.models import Booking, BookingStatus
from paddock.bookings.results import BookingResult
from paddock.capacity import service as capacity
from paddock.capacity.engine import Demand
from paddock.errors import InvalidTransition, NotFound

_INSERT_AUDIT = audit.INSERT

# Programmes built on bookings (dealers) hold more than the product's demands: a move must take
# those again at the new start, and a lapsed hold must give back what it counted. They register
# here, so bookings never imports them.
CompanionDemands = Callable[[Session, int, datetime], Sequence[Demand]]
ReleaseListener = Callable[[Session, Sequence[int], str], None]
companion_demands: dict[str, CompanionDemands] = {}
_release_listeners: dict[str, ReleaseListener] = {}


def register_companion_demands(name: str, provider: CompanionDemands) -> None:
    """`provider(session, booking_id, new_start)` says what else the booking needs at a new
    start. It runs before the move's transaction and may run transactions of its own."""
    companion_demands[name] = provider


def register_release_listener(name: str, listener: ReleaseListener) -> None:
    """`listener(session, booking_ids, reason)` runs inside the transaction that releases
    bookings; reason is "expired" (a hold ran out)."""
    _release_listeners[name] = listener


def notify_released(session: Session, booking_ids: Sequence[int], reason: str) -> None:
    for listener in _release_listeners.values():
        listener(session, booking_ids, reason)


class Transition(Protocol):
    def __call__(
        self, session: Session, *, ref: str, actor: str = ..., now: datetime | None = None
    ) -> BookingResult: ...


def locked(session: Session, ref: str) -> Booking:
    # FOR UPDATE on PostgreSQL; SQLite, whose writer holds the write lock, compiles it to
    # nothing.
    booking = session.scalar(select(Booking).where(Booking.ref == ref.upper()).with_for_update())
    if booking is None:
        raise NotFound(f"No booking with reference '{ref}'.")
    return booking


def require(booking: Booking, status: str, allowed: set[BookingStatus], verb: str) -> None:
    if status not in allowed:
        raise InvalidTransition(
            f"Booking {booking.ref} is {status.replace('_', ' ')}; it cannot {verb}."
            if verb != "no-show"
            else f"Booking {booking.ref} is {status.replace('_', ' ')}; it cannot be a no-show."
        )


def set_status(
    session: Session,
    booking: Booking,
    status: BookingStatus,
    now: datetime,
    actor: str,
    **changes: object,
) -> None:
    before = booking.status
    booking.status = status
    booking.updated_at = now
    for name, value in changes.items():
        setattr(booking, name, value)
    audit_change(
        session,
        actor,
        booking.id,
        str(status),
        now,
        previous=before,
        **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items()},
    )


def expire(session: Session, booking: Booking, now: datetime) -> None:
    capacity.release(session, engagement_kind=ENGAGEMENT, engagement_id=booking.id)
    notify_released(session, [booking.id], "expired")
    set_status(session, booking, BookingStatus.EXPIRED, now, "system")


def audit_change(
    session: Session, actor: str, booking_id: int, action: str, now: datetime, **data: object
) -> None:
    row = audit_row(actor, action, now, **data)
    session.connection().execute(_INSERT_AUDIT, row | {"subject_id": booking_id})
