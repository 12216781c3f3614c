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
from paddock.mapping import to_schema

CSV = "text/csv; charset=utf-8"


def dealer_read(dealer: Dealer, sites: dict[int, str]) -> DealerRead:
    home = sites.get(dealer.home_site_id) if dealer.home_site_id else None
    return to_schema(DealerRead, dealer, home_site=home)


def allotment_read(
    a: allotments.AllotmentStatus, dealer_code: str, sites: dict[int, str]
) -> AllotmentRead:
    site = sites.get(a.site_id, "?")
    return to_schema(AllotmentRead, a, dealer=dealer_code, site=site, month=f"{a.month:%Y-%m}")


def campaign_read(
    campaign: Campaign, dealer_code: str, stats: service.CampaignStats
) -> CampaignRead:
    return to_schema(
        CampaignRead,
        campaign,
        dealer=dealer_code,
        products=[p.code for p in campaign.products],
        codes=stats.codes,
        invitees=stats.invitees,
        bookings=stats.bookings,
    )


def code_read(code: InvitationCode) -> CodeRead:
    return to_schema(CodeRead, code, link=service.invitation_path(code.code))


def invitee_read(row: service.InviteeRow) -> InviteeRead:
    return to_schema(
        InviteeRead,
        row.invitee,
        product=row.invitee.product_code,
        code=row.code,
        link=service.invitation_path(row.code) if row.code else "",
        bookings=row.bookings,
    )


def attributed_read(r: service.AttributedBooking) -> AttributedBookingRead:
    return to_schema(
        AttributedBookingRead,
        r.booking,
        product=r.product_code,
        dealer=r.dealer_code,
        campaign_id=r.campaign_id,
        campaign=r.campaign_name,
        code=r.code,
        invitee=r.invitee_name,
    )


def csv_response(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
