"""The product's cancellation policy, as it binds a guest cancelling online (the manage page
and the manage API): past the free-cancellation deadline a confirmed booking is refused with
CancellationClosed (409), saying when the deadline passed and whom to call. Operations
cancel through `service.cancel_booking`, which this never touches: staff always can."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from paddock.bookings.models import BookingStatus
from paddock.bookings.results import BookingResult
from paddock.catalog import service as catalog
from paddock.catalog.policy import CancellationPolicy, policy_of
from paddock.errors import Conflict


class CancellationClosed(Conflict):
    code = "cancellation-closed"
    title = "Too late to cancel online"


def policy_for(session: Session, result: BookingResult) -> CancellationPolicy:
    return policy_of(catalog.get_product(session, code=result.product_code))


def guest_may_cancel(policy: CancellationPolicy, result: BookingResult, now: datetime) -> bool:
    """A hold can always be given back; a confirmed booking until the policy's deadline."""
    return result.status == BookingStatus.HELD or policy.free_at(result.booking.starts_at, now)


def check_guest_cancel(session: Session, result: BookingResult, now: datetime) -> None:
    policy = policy_for(session, result)
    if not guest_may_cancel(policy, result, now):
        starts_at = result.booking.starts_at
        raise CancellationClosed(
            policy.closed_message(result.booking.ref, starts_at),
            deadline=policy.deadline(starts_at).isoformat(),
            phone=policy.phone,
        )
