"""The dealers' JSON answers built from what the use cases return (dealers, places, campaigns,
codes, invitees, attributed bookings), and a CSV download: shared by the dealer, campaign and
invitation routers."""

from __future__ import annotations

from fastapi import Response

from paddock.dealers import allotments, service
from paddock.dealers.models import Campaign, Dealer, InvitationCode
from paddock.dealers.schemas import (
    AllotmentRead,
    AttributedBookingRead,
    CampaignRead,
    CodeRead,
    DealerRead,
    InviteeRead,
)

CSV = "text/csv; charset=utf-8"


def dealer_read(dealer: Dealer, sites: dict[int, str]) -> DealerRead:
    return DealerRead(
        code=dealer.code,
        name=dealer.name,
        city=dealer.city,
        state=dealer.state,
        region=dealer.region,
        home_site=sites.get(dealer.home_site_id) if dealer.home_site_id else None,
        email=dealer.email,
        phone=dealer.phone,
        monthly_allotment=dealer.monthly_allotment,
        active=dealer.active,
    )


def allotment_read(
    a: allotments.AllotmentStatus, dealer_code: str, sites: dict[int, str]
) -> AllotmentRead:
    return AllotmentRead(
        dealer=dealer_code,
        site=sites.get(a.site_id, "?"),
        month=f"{a.month:%Y-%m}",
        places=a.places,
        used=a.used,
        remaining=a.remaining,
    )


def campaign_read(
    campaign: Campaign, dealer_code: str, stats: service.CampaignStats
) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        dealer=dealer_code,
        name=campaign.name,
        description=campaign.description,
        products=[p.code for p in campaign.products],
        drive_from=campaign.drive_from,
        drive_to=campaign.drive_to,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        archived_at=campaign.archived_at,
        codes=stats.codes,
        invitees=stats.invitees,
        bookings=stats.bookings,
    )


def code_read(code: InvitationCode) -> CodeRead:
    return CodeRead(
        code=code.code,
        kind=code.kind,
        campaign_id=code.campaign_id,
        invitee_id=code.invitee_id,
        max_uses=code.max_uses,
        uses=code.uses,
        expires_at=code.expires_at,
        drive_from=code.drive_from,
        drive_to=code.drive_to,
        created_at=code.created_at,
        revoked_at=code.revoked_at,
        link=service.invitation_path(code.code),
    )


def invitee_read(row: service.InviteeRow) -> InviteeRead:
    i = row.invitee
    return InviteeRead(
        id=i.id,
        campaign_id=i.campaign_id,
        name=i.name,
        email=i.email,
        phone=i.phone,
        consent_marketing=i.consent_marketing,
        product=i.product_code,
        note=i.note,
        source=i.source,
        created_at=i.created_at,
        code=row.code,
        link=service.invitation_path(row.code) if row.code else "",
        bookings=row.bookings,
    )


def attributed_read(r: service.AttributedBooking) -> AttributedBookingRead:
    b = r.booking
    return AttributedBookingRead(
        ref=b.ref,
        status=b.status,
        product=r.product_code,
        starts_at=b.starts_at,
        ends_at=b.ends_at,
        guest_name=b.guest_name,
        guest_email=b.guest_email,
        dealer=r.dealer_code,
        campaign_id=r.campaign_id,
        campaign=r.campaign_name,
        code=r.code,
        invitee=r.invitee_name,
        created_at=b.created_at,
    )


def csv_response(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
