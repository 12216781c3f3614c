"""Dealers and their places as JSON (scoped to the caller's dealer): the directory, summaries,
allotments and attributed bookings. The other dealer routers: `campaigns_api` (campaigns, codes,
invitees) and `invitations_api` (the public endpoints a guest's link leads to); the answers are
built in `reads`. No API module imports another: each router is mounted by `paddock.app`."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts.deps import AdminUser, DealerScope, StaffUser
from paddock.capacity.models import Site
from paddock.dealers import allotments, service
from paddock.dealers.reads import (
    CSV,
    allotment_read,
    attributed_read,
    campaign_read,
    code_read,
    csv_response,
    dealer_read,
    invitee_read,
)
from paddock.dealers.schemas import (
    AllotmentRead,
    AllotmentSet,
    AttributedBookingRead,
    DealerCreate,
    DealerRead,
    DealerSummaryRead,
)
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.mapping import to_schema

__all__ = [
    "CSV",
    "allotment_read",
    "attributed_read",
    "campaign_read",
    "code_read",
    "create_dealer",
    "csv_response",
    "dealer_bookings",
    "dealer_bookings_csv",
    "dealer_read",
    "dealer_summary",
    "get_dealer",
    "invitee_read",
    "list_allotments",
    "list_dealers",
    "router",
    "set_allotment",
]

router = APIRouter(prefix="/api/v1")


def _site_codes(session: Session) -> dict[int, str]:
    return {int(i): str(c) for i, c in session.execute(select(Site.id, Site.code))}


# Dealers ----------------------------------------------------------------------------------


@router.get("/dealers", response_model=list[DealerRead], tags=["dealers"])
def list_dealers(
    session: SessionDep,
    scope: DealerScope,
    region: str | None = None,
    search: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=50, ge=1, le=500),
    after_id: Id | None = None,
) -> list[DealerRead]:
    """Centre staff see every dealer; a dealer's staff see their own."""
    sites = _site_codes(session)
    rows = service.list_dealers(
        session, scope=scope, region=region, search=search, limit=limit, after_id=after_id
    )
    return [dealer_read(d, sites) for d in rows]


@router.post("/dealers", response_model=DealerRead, status_code=201, tags=["dealers"])
def create_dealer(body: DealerCreate, admin: AdminUser, session: SessionDep) -> DealerRead:
    dealer = service.create_dealer(session, **body.model_dump(), actor=admin.actor)
    return dealer_read(dealer, _site_codes(session))


@router.get("/dealers/{code}", response_model=DealerRead, tags=["dealers"])
def get_dealer(code: str, session: SessionDep, scope: DealerScope) -> DealerRead:
    return dealer_read(service.get_dealer(session, code=code, scope=scope), _site_codes(session))


@router.get("/dealers/{code}/summary", response_model=DealerSummaryRead, tags=["dealers"])
def dealer_summary(code: str, session: SessionDep, scope: DealerScope) -> DealerSummaryRead:
    """Campaigns, invitees, attributed bookings by status, and this and next month's places."""
    summary = service.dealer_summary(session, scope=scope, dealer_code=code)
    sites = _site_codes(session)
    return to_schema(
        DealerSummaryRead,
        summary,
        dealer=dealer_read(summary.dealer, sites),
        places=[allotment_read(a, summary.dealer.code, sites) for a in summary.places],
    )


@router.get("/dealers/{code}/allotments", response_model=list[AllotmentRead], tags=["dealers"])
def list_allotments(
    code: str,
    session: SessionDep,
    scope: DealerScope,
    month_from: str | None = Query(default=None, alias="from", examples=["2026-12"]),
    month_to: str | None = Query(default=None, alias="to", examples=["2027-02"]),
) -> list[AllotmentRead]:
    """Test-drive places per site and month, with how many are booked. A month not listed has
    the dealer's default places (set on first use)."""
    first = allotments.parse_month(month_from) if month_from else date.today().replace(day=1)
    last = allotments.parse_month(month_to) if month_to else first + timedelta(days=365)
    rows = service.list_allotments(
        session, scope=scope, dealer_code=code, month_from=first, month_to=last
    )
    sites = _site_codes(session)
    return [allotment_read(a, code.upper(), sites) for a in rows]


@router.put(
    "/dealers/{code}/allotments/{site}/{month}", response_model=AllotmentRead, tags=["dealers"]
)
def set_allotment(
    code: str, site: str, month: str, body: AllotmentSet, staff: StaffUser, session: SessionDep
) -> AllotmentRead:
    """Set a month's places (centre staff). Refused below the places already booked."""
    result = service.set_allotment(
        session,
        dealer_code=code,
        site_code=site,
        month=allotments.parse_month(month),
        places=body.places,
        actor=staff.actor,
    )
    return allotment_read(result, code.upper(), _site_codes(session))


@router.get(
    "/dealers/{code}/bookings", response_model=list[AttributedBookingRead], tags=["dealers"]
)
def dealer_bookings(
    code: str,
    session: SessionDep,
    scope: DealerScope,
    campaign_id: Id | None = None,
    status: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    before_id: Id | None = Query(default=None, description="Keyset: the last page's lowest"),
) -> list[AttributedBookingRead]:
    """Bookings that came through this dealer's invitations, newest first."""
    rows = service.list_attributed_bookings(
        session,
        scope=scope,
        dealer_code=code,
        campaign_id=campaign_id,
        status=status,
        limit=limit,
        before_id=before_id,
    )
    return [attributed_read(r) for r in rows]


@router.get("/dealers/{code}/bookings.csv", tags=["dealers"], response_class=Response)
def dealer_bookings_csv(code: str, session: SessionDep, scope: DealerScope) -> Response:
    """The dealer's attributed bookings as CSV (up to 50,000, newest first)."""
    body = service.attributed_bookings_csv(session, scope=scope, dealer_code=code)
    return csv_response(body, f"{code.upper()}-bookings.csv")
