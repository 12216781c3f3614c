"""The dealer portal: a dealer's invitees' bookings, visits and conversions, its monthly
allotment, its share of the 15 % target and its rank. Dealer staff see their own dealer only;
centre admins choose a dealer. Campaigns, codes and imports are in `campaigns.py`."""

from __future__ import annotations

from datetime import date

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from paddock.accounts.service import Principal, Scope
from paddock.analytics import series
from paddock.analytics import service as analytics
from paddock.bookings.models import BookingStatus
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.dealers import allotments
from paddock.dealers import service as dealers
from paddock.errors import Invalid
from paddock.http import SessionDep
from paddock.web.dashboard import figures
from paddock.web.dealer import queries
from paddock.web.dealer.portal import DealerPage, Portal, open_portal, portal_campaign
from paddock.web.deps import page_router
from paddock.web.rendering import render

router = page_router(prefix="/dealer")
MONTHS_BACK, MONTHS_AHEAD = 5, 2
PAGE = 50
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


@router.get("/bookings")
def bookings(
    request: Request,
    session: SessionDep,
    user: DealerPage,
    dealer: str = "",
    status: str = "",
    campaign: int | None = None,
    before: int | None = None,
) -> Response:
    portal = _required(session, user, dealer)
    if status and status not in STATUSES:
        raise Invalid(f"Unknown status '{status}'; one of: {', '.join(STATUSES)}.")
    chosen = portal_campaign(session, portal, campaign) if campaign is not None else None
    rows = dealers.list_attributed_bookings(
        session,
        scope=portal.scope,
        dealer_code=portal.dealer.code,
        campaign_id=campaign,
        status=status or None,
        limit=PAGE + 1,
        before_id=before,
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
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
        "status": status,
        "statuses": STATUSES,
        "campaign": chosen,
        "campaigns": campaigns,
        "next_before": rows[-1].booking.id if more and rows else None,
        "paged": before is not None,
    }
    return render(request, "dealer/bookings.html", context)


@router.get("/bookings.csv")
def bookings_csv(
    request: Request,
    session: SessionDep,
    user: DealerPage,
    dealer: str = "",
    status: str = "",
    campaign: int | None = None,
) -> Response:
    portal = _required(session, user, dealer)
    if status and status not in STATUSES:
        raise Invalid(f"Unknown status '{status}'.")
    if campaign is not None:
        portal_campaign(session, portal, campaign)
    rows: list[dealers.AttributedBooking] = []
    before: int | None = None
    while len(rows) < CSV_MAX_ROWS:
        page = dealers.list_attributed_bookings(
            session,
            scope=portal.scope,
            dealer_code=portal.dealer.code,
            campaign_id=campaign,
            status=status or None,
            limit=dealers.PAGE_MAX,
            before_id=before,
        )
        rows.extend(page)
        if len(page) < dealers.PAGE_MAX:
            break
        before = page[-1].booking.id
    text = dealers.bookings_csv(rows, dealers.site_time_zones(session))
    name = f"{portal.dealer.code.lower()}-bookings-{utcnow():%Y%m%d}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/invitees")
def invitees(
    request: Request,
    session: SessionDep,
    user: DealerPage,
    dealer: str = "",
    q: str = "",
    after: int | None = None,
) -> HTMLResponse:
    portal = _required(session, user, dealer)
    rows = dealers.list_invitees(
        session, scope=portal.scope, search=q.strip() or None, limit=PAGE + 1, after_id=after
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
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
            "next_after": rows[-1].invitee.id if more and rows else None,
            "paged": after is not None,
        },
    )


def _required(session: Session, user: Principal, dealer: str) -> Portal:
    """The portal, for pages that need a dealer (an admin who chose none is asked to)."""
    portal = open_portal(session, user, dealer)
    if portal is None:
        raise Invalid("Choose a dealer first: open the dealer portal and pick one.")
    return portal
