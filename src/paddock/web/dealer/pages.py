"""The dealer portal: a dealer's invitees' bookings, visits and conversions, its monthly
allotment, its share of the 15 % target and its rank. Dealer staff see their own dealer only;
centre admins choose a dealer. Campaigns, codes and imports are in `campaigns.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from paddock.accounts.service import Scope
from paddock.analytics import series
from paddock.analytics import service as analytics
from paddock.bookings.models import BookingStatus
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.dealers import allotments
from paddock.dealers import service as dealers
from paddock.dealers.models import Campaign
from paddock.errors import Invalid
from paddock.http import SessionDep
from paddock.web.dashboard import figures
from paddock.web.dealer import queries
from paddock.web.dealer.portal import (
    DealerPage,
    DealerPortal,
    Portal,
    open_portal,
    portal_campaign,
)
from paddock.web.deps import page_router
from paddock.web.rendering import render

router = page_router(prefix="/dealer")
MONTHS_BACK, MONTHS_AHEAD = 5, 2
PAGE = 50
T = TypeVar("T")
STATUSES = tuple(s.value for s in BookingStatus)
CSV_MAX_ROWS = 20_000


def shift_month(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@router.get("")
def overview(
    request: Request, session: SessionDep, user: DealerPage, dealer: str = "", q: str = ""
) -> HTMLResponse:
    portal = open_portal(session, user, dealer)
    if portal is None:
        return _chooser(request, session, user_query=q)
    now = utcnow()
    code, dealer_id = portal.dealer.code, portal.dealer.id
    summary = dealers.dealer_summary(session, scope=portal.scope, dealer_code=code)
    network = analytics.scope_for(session)
    period = analytics.period_of(network, None, now)
    standing, ranked = analytics.dealer_standing(session, dealer_id=dealer_id, now=now)
    _, share, _ = analytics.drivers_and_share(session, network, period.start, period.end, now)
    months = series.monthly(session, year=period.year, dealer_id=dealer_id, now=now)
    funnel = series.invitation_funnel(session, since=period.start, until=now, dealer_id=dealer_id)
    this_month = allotments.first_of_month(now.astimezone(portal.zone).date())
    month_list = [shift_month(this_month, k) for k in range(-MONTHS_BACK, MONTHS_AHEAD + 1)]
    statuses = dealers.list_allotments(
        session,
        scope=portal.scope,
        dealer_code=code,
        month_from=month_list[0],
        month_to=month_list[-1],
    )
    places = figures.allotment_months(statuses, month_list, portal.dealer.monthly_allotment)
    recent = dealers.list_attributed_bookings(
        session, scope=portal.scope, dealer_code=code, limit=6
    )
    converted = queries.conversions_of(
        session, dealer_id=dealer_id, booking_ids=[r.booking.id for r in recent]
    )
    network_target = round(network.dealer_share_target * network.drivers_target)
    dealer_count = queries.active_dealers(session)
    mine = sum(m.from_dealers for m in months)
    context = {
        "portal": portal,
        "summary": summary,
        "year": period.year,
        "standing": standing,
        "ranked": ranked,
        "share": share,
        "months": months,
        "funnel": funnel,
        "places": places,
        "place_now": next(p for p in places if p[0] == this_month),
        "this_month": this_month,
        "recent": recent,
        "converted": converted,
        "zones": dealers.site_time_zones(session),
        "products": {p.code: p.name for p in catalog.list_products(session, include_private=True)},
        "network_target": network_target,
        "fair_share": network_target / dealer_count if dealer_count else 0,
        "dealer_count": dealer_count,
        "test_drives": mine,
        "drove": sum(m.test_drives for m in months),
        "places_chart": figures.allotment_figure(places),
        "funnel_chart": figures.funnel_figure(funnel),
        "statuses": STATUSES,
    }
    return render(request, "dealer/overview.html", context)


def _chooser(request: Request, session: Session, *, user_query: str) -> HTMLResponse:
    """Centre admins: which dealer's portal to open."""
    everyone = Scope.everything("dealer-chooser")  # only admins reach this (open_portal)
    found = dealers.list_dealers(
        session, scope=everyone, search=user_query.strip() or None, limit=60
    )
    return render(
        request, "dealer/choose.html", {"dealers": found, "q": user_query, "portal": None}
    )


@dataclass(frozen=True)
class BookingsFilter:
    """The portal's bookings as the page and its CSV filter them (`?status=&campaign=`)."""

    portal: Portal
    status: str
    campaign: Campaign | None

    def page(
        self, session: Session, *, limit: int, before: int | None
    ) -> list[dealers.AttributedBooking]:
        return dealers.list_attributed_bookings(
            session,
            scope=self.portal.scope,
            dealer_code=self.portal.dealer.code,
            campaign_id=self.campaign.id if self.campaign else None,
            status=self.status or None,
            limit=limit,
            before_id=before,
        )


def bookings_filter(
    session: SessionDep, portal: DealerPortal, status: str = "", campaign: int | None = None
) -> BookingsFilter:
    if status and status not in STATUSES:
        raise Invalid(f"Unknown status '{status}'; one of: {', '.join(STATUSES)}.")
    chosen = portal_campaign(session, portal, campaign) if campaign is not None else None
    return BookingsFilter(portal, status, chosen)


Bookings = Annotated[BookingsFilter, Depends(bookings_filter)]


@router.get("/bookings")
def bookings(
    request: Request, session: SessionDep, shown: Bookings, before: int | None = None
) -> Response:
    portal = shown.portal
    rows, more = _page(shown.page(session, limit=PAGE + 1, before=before))
    converted = queries.conversions_of(
        session, dealer_id=portal.dealer.id, booking_ids=[r.booking.id for r in rows]
    )
    campaigns = dealers.list_campaigns(
        session, scope=portal.scope, include_archived=True, limit=dealers.PAGE_MAX
    )
    names = {p.code: p.name for p in catalog.list_products(session, include_private=True)}
    context = {
        "portal": portal,
        "rows": rows,
        "converted": converted,
        "zones": dealers.site_time_zones(session),
        "products": names,
        "status": shown.status,
        "statuses": STATUSES,
        "campaign": shown.campaign,
        "campaigns": campaigns,
        "next_before": rows[-1].booking.id if more else None,
        "paged": before is not None,
    }
    return render(request, "dealer/bookings.html", context)


@router.get("/bookings.csv")
def bookings_csv(session: SessionDep, shown: Bookings) -> Response:
    rows: list[dealers.AttributedBooking] = []
    before: int | None = None
    while len(rows) < CSV_MAX_ROWS:
        page = shown.page(session, limit=dealers.PAGE_MAX, before=before)
        rows.extend(page)
        if len(page) < dealers.PAGE_MAX:
            break
        before = page[-1].booking.id
    text = dealers.bookings_csv(rows, dealers.site_time_zones(session))
    name = f"{shown.portal.dealer.code.lower()}-bookings-{utcnow():%Y%m%d}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/invitees")
def invitees(
    request: Request,
    session: SessionDep,
    portal: DealerPortal,
    q: str = "",
    after: int | None = None,
) -> HTMLResponse:
    rows, more = _page(
        dealers.list_invitees(
            session, scope=portal.scope, search=q.strip() or None, limit=PAGE + 1, after_id=after
        )
    )
    campaigns = {
        c.id: c
        for c in dealers.list_campaigns(
            session, scope=portal.scope, include_archived=True, limit=dealers.PAGE_MAX
        )
    }
    return render(
        request,
        "dealer/invitees.html",
        {
            "portal": portal,
            "rows": rows,
            "q": q,
            "campaigns": campaigns,
            "next_after": rows[-1].invitee.id if more else None,
            "paged": after is not None,
        },
    )


def _page(rows: list[T]) -> tuple[list[T], bool]:
    """A page of PAGE rows read as PAGE + 1, and whether there are more."""
    return rows[:PAGE], len(rows) > PAGE
