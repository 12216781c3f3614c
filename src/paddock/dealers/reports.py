"""What a dealer sees of its results: the bookings attributed to it (through its invitations),
a summary per dealer, and the CSV exports of bookings and invitees."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock import csv_files
from paddock.accounts.service import Scope
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Site
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.dealers import allotments
from paddock.dealers.campaigns import InviteeRow, get_campaign, list_invitees
from paddock.dealers.codes import invitation_path
from paddock.dealers.directory import get_dealer
from paddock.dealers.models import BookingAttribution, Campaign, Dealer, InvitationCode, Invitee
from paddock.keyset import PAGE_MAX, every_page, keyset_page

# What a dealer sees of its bookings -------------------------------------------------------


@dataclass(frozen=True)
class AttributedBooking:
    booking: Booking
    product_code: str
    dealer_code: str
    campaign_id: int | None
    campaign_name: str
    code: str
    invitee_name: str


def list_attributed_bookings(
    session: Session,
    *,
    scope: Scope,
    dealer_code: str | None = None,
    campaign_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[AttributedBooking]:
    """Bookings that came through a dealer's invitations, newest first (keyset pages)."""
    query = (
        select(
            Booking,
            Product.code,
            Dealer.code,
            Campaign.id,
            Campaign.name,
            InvitationCode.code,
            Invitee.name,
        )
        .join(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .join(Product, Product.id == Booking.product_id)
        .join(Dealer, Dealer.id == BookingAttribution.dealer_id)
        .outerjoin(InvitationCode, InvitationCode.id == BookingAttribution.invitation_code_id)
        .outerjoin(Campaign, Campaign.id == InvitationCode.campaign_id)
        .outerjoin(Invitee, Invitee.id == BookingAttribution.invitee_id)
    )
    if scope.dealer_id is not None:
        query = query.where(BookingAttribution.dealer_id == scope.dealer_id)
    if dealer_code:
        dealer = get_dealer(session, code=dealer_code, scope=scope)
        query = query.where(BookingAttribution.dealer_id == dealer.id)
    if campaign_id is not None:
        get_campaign(session, scope=scope, campaign_id=campaign_id)
        query = query.where(InvitationCode.campaign_id == campaign_id)
    if status:
        query = query.where(Booking.status == status)
    page = keyset_page(query, Booking.id, after=before_id, limit=limit, newest_first=True)
    rows = session.execute(page).all()
    return [
        AttributedBooking(b, pc, dc, cid, cname or "", code or "", iname or "")
        for b, pc, dc, cid, cname, code, iname in rows
    ]


@dataclass(frozen=True)
class DealerSummary:
    dealer: Dealer
    campaigns: int
    invitees: int
    bookings_by_status: dict[str, int]
    places: list[allotments.AllotmentStatus]

    @property
    def bookings(self) -> int:
        return sum(self.bookings_by_status.values())

    @property
    def drove(self) -> int:
        return self.bookings_by_status.get(BookingStatus.COMPLETED, 0)


def dealer_summary(
    session: Session, *, scope: Scope, dealer_code: str, today: date | None = None
) -> DealerSummary:
    dealer = get_dealer(session, code=dealer_code, scope=scope)
    today = today or utcnow().date()
    campaigns = session.scalar(
        select(func.count()).select_from(Campaign).where(Campaign.dealer_id == dealer.id)
    )
    invitees = session.scalar(
        select(func.count()).select_from(Invitee).where(Invitee.dealer_id == dealer.id)
    )
    by_status = {
        str(s): int(n)
        for s, n in session.execute(
            select(Booking.status, func.count())
            .join(BookingAttribution, BookingAttribution.booking_id == Booking.id)
            .where(BookingAttribution.dealer_id == dealer.id)
            .group_by(Booking.status)
        )
    }
    month = allotments.first_of_month(today)
    places = allotments.statuses(
        session, dealer_ids=[dealer.id], month_from=month, month_to=allotments.next_month(month)
    )
    return DealerSummary(dealer, int(campaigns or 0), int(invitees or 0), by_status, places)


def attributed_bookings_csv(
    session: Session,
    *,
    scope: Scope,
    dealer_code: str | None = None,
    campaign_id: int | None = None,
    status: str | None = None,
    most: int = 50_000,
) -> str:
    """The bookings that came through a dealer's invitations as CSV, newest first (at most
    `most` of them)."""
    rows = every_page(
        lambda before: list_attributed_bookings(
            session,
            scope=scope,
            dealer_code=dealer_code,
            campaign_id=campaign_id,
            status=status,
            limit=PAGE_MAX,
            before_id=before,
        ),
        lambda row: row.booking.id,
        most=most,
    )
    return bookings_csv(rows, site_time_zones(session))


def campaign_invitees_csv(session: Session, *, scope: Scope, campaign_id: int) -> str:
    """A campaign's invitees with their personal codes and links, as CSV."""
    rows = every_page(
        lambda after: list_invitees(
            session, scope=scope, campaign_id=campaign_id, limit=PAGE_MAX, after_id=after
        ),
        lambda row: row.invitee.id,
    )
    return invitees_csv(rows)


def bookings_csv(rows: Sequence[AttributedBooking], time_zones: dict[int, str]) -> str:
    out = io.StringIO()
    writer = csv_files.writer(out)  # formulas in guests' and invitees' text neutralised
    writer.writerow(
        [
            "ref",
            "status",
            "product",
            "starts_at_local",
            "guest_name",
            "guest_email",
            "dealer",
            "campaign",
            "code",
            "invitee",
        ]
    )
    for r in rows:
        zone = ZoneInfo(time_zones.get(r.booking.site_id, "UTC"))
        writer.writerow(
            [
                r.booking.ref,
                r.booking.status,
                r.product_code,
                r.booking.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                r.booking.guest_name,
                r.booking.guest_email,
                r.dealer_code,
                r.campaign_name,
                r.code,
                r.invitee_name,
            ]
        )
    return out.getvalue()


def invitees_csv(rows: Sequence[InviteeRow]) -> str:
    out = io.StringIO()
    writer = csv_files.writer(out)  # formulas in guests' and invitees' text neutralised
    writer.writerow(
        ["name", "email", "phone", "consent", "product", "note", "code", "link", "bookings"]
    )
    for r in rows:
        i = r.invitee
        writer.writerow(
            [
                i.name,
                i.email,
                i.phone,
                "yes" if i.consent_marketing else "no",
                i.product_code,
                i.note,
                r.code,
                invitation_path(r.code) if r.code else "",
                r.bookings,
            ]
        )
    return out.getvalue()


def site_time_zones(session: Session) -> dict[int, str]:
    return {int(i): str(z) for i, z in session.execute(select(Site.id, Site.time_zone))}
