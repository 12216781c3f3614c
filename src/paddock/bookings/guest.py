"""What a guest may do with their own booking, through its private manage link (the token
in /b/<token> and /api/v1/manage/<token>): see it, confirm a hold, move or cancel it while
it is upcoming. The staff API is never the guest's way in. The audit names the actor
"guest via manage link"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from paddock.bookings import policy, service
from paddock.bookings.models import BookingStatus
from paddock.db import utcnow
from paddock.errors import InvalidTransition
from paddock.unit_of_work import end_read

GUEST_ACTOR = "guest via manage link"
# A guest changes a booking online while it is held or confirmed and has not started.
MANAGEABLE = (BookingStatus.HELD, BookingStatus.CONFIRMED)


def can_change(result: service.BookingResult, now: datetime | None = None) -> bool:
    return result.status in MANAGEABLE and result.booking.starts_at > (now or utcnow())


def booking(session: Session, *, token: str) -> service.BookingResult:
    return service.get_by_token(session, token=token)


def confirm(session: Session, *, token: str) -> service.BookingResult:
    ref = service.get_by_token(session, token=token).booking.ref
    return service.confirm_booking(session, ref=ref, actor=GUEST_ACTOR)


def move(session: Session, *, token: str, starts_at: datetime) -> service.BookingResult:
    current = _changeable(session, token, "moved")
    return service.reschedule(
        session, ref=current.booking.ref, starts_at=starts_at, actor=GUEST_ACTOR
    )


def cancel(
    session: Session, *, token: str, reason: str = "", now: datetime | None = None
) -> service.BookingResult:
    """Cancel online, within the product's cancellation policy (bookings/policy.py)."""
    now = now or utcnow()
    current = _changeable(session, token, "cancelled")
    policy.check_guest_cancel(session, current, now)
    end_read(session)  # the policy's read ends here too
    return service.cancel_booking(
        session, ref=current.booking.ref, reason=reason.strip(), actor=GUEST_ACTOR
    )


def _changeable(session: Session, token: str, verb: str) -> service.BookingResult:
    current = service.get_by_token(session, token=token)
    end_read(session)  # the change is its own transaction
    if not can_change(current):
        raise InvalidTransition(
            f"Booking {current.booking.ref} can no longer be {verb} online "
            f"(it is {current.status.replace('_', ' ')} and starts "
            f"{current.booking.starts_at:%Y-%m-%d %H:%M} UTC); please call the centre."
        )
    return current
