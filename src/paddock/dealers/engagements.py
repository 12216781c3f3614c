"""How attributed bookings keep their dealer's place through the booking lifecycle: a move
takes the new month's place, a lapsed hold gives back the code use it counted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.bookings.models import Booking
from paddock.capacity.engine import Demand
from paddock.capacity.models import Site
from paddock.dealers import allotments
from paddock.dealers.models import BookingAttribution, Dealer, InvitationCode
from paddock.unit_of_work import end_read

NAME = "dealers"


def place_at(session: Session, booking_id: int, new_start: datetime) -> Sequence[Demand]:
    """The dealer's place for the month of the new start (made if it is a new month)."""
    row = session.execute(
        select(BookingAttribution.dealer_id, Dealer.name, Booking.site_id, Site.time_zone)
        .join(Dealer, Dealer.id == BookingAttribution.dealer_id)
        .join(Booking, Booking.id == BookingAttribution.booking_id)
        .join(Site, Site.id == Booking.site_id)
        .where(BookingAttribution.booking_id == booking_id)
    ).first()
    end_read(session)
    if row is None:
        return ()
    dealer_id, dealer_name, site_id, time_zone = row
    zone = ZoneInfo(time_zone)
    month = allotments.local_month(new_start, zone)
    place = allotments.ensure(session, dealer_id=dealer_id, site_id=site_id, month=month)
    return (allotments.place_demand(place, dealer_name, zone, new_start),)


def give_back_code_uses(session: Session, booking_ids: Sequence[int], reason: str) -> None:
    """A hold that ran out never became a visit: its code use is returned."""
    if reason != "expired" or not booking_ids:
        return
    codes = session.scalars(
        select(BookingAttribution.invitation_code_id).where(
            BookingAttribution.booking_id.in_(booking_ids),
            BookingAttribution.invitation_code_id.is_not(None),
        )
    ).all()
    for code_id in codes:
        session.execute(
            update(InvitationCode)
            .where(InvitationCode.id == code_id, InvitationCode.uses > 0)
            .values(uses=InvitationCode.uses - 1)
        )


def register() -> None:
    """Called once where the application is put together (the app and the CLI)."""
    bookings.register_companion_demands(NAME, place_at)
    bookings.register_release_listener(NAME, give_back_code_uses)
