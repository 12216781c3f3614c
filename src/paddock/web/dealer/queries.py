"""Reads only the dealer portal needs (its read model), always for one dealer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.crm.models import Conversion
from paddock.dealers.models import Dealer


def conversions_of(
    session: Session, *, dealer_id: int, booking_ids: Sequence[int]
) -> dict[int, date]:
    """When each of these (the dealer's) bookings was converted by a sale, if it was."""
    if not booking_ids:
        return {}
    rows = session.execute(
        select(Conversion.booking_id, Conversion.converted_on).where(
            Conversion.dealer_id == dealer_id, Conversion.booking_id.in_(list(booking_ids))
        )
    )
    return {int(b): d for b, d in rows}


def active_dealers(session: Session) -> int:
    """How many dealers share the network's target (a count, nothing about any of them)."""
    return int(session.scalar(select(func.count()).select_from(Dealer).where(Dealer.active)) or 0)
