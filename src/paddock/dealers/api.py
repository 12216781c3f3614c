"""Dealers, allotments, campaigns, codes, invitees and attributed bookings as JSON (scoped to
the caller's dealer), and the public invitation endpoints a guest's link leads to."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts.deps import AdminUser, DealerScope, StaffUser
from paddock.accounts.service import Scope
from paddock.bookings import per_address
from paddock.bookings import service as booking_service
from paddock.bookings.api import booking_read
from paddock.bookings.schemas import BookingCreate, BookingRead
from paddock.capacity.models import Site
from paddock.catalog.api import slot_answers
from paddock.catalog.schemas import SlotRead
from paddock.db import utcnow
from paddock.dealers import allotments, imports, service
from paddock.dealers.guessing import code_guesses
from paddock.dealers.models import Campaign, Dealer, InvitationCode
from paddock.dealers.schemas import (
    AllotmentRead,
    AllotmentSet,
    AttributedBookingRead,
    CampaignCreate,
    CampaignRead,
    CodeCreate,
    CodeRead,
    DealerCreate,
    DealerRead,
    DealerSummaryRead,
    ImportReportRead,
    InvitationAvailabilityRead,
    InvitationDealer,
    InvitationProductRead,
    InvitationRead,
    InviteeCreate,
    InviteeRead,
)
from paddock.http import SessionDep
from paddock.limits import Day, Id

router = APIRouter(prefix="/api/v1")
CSV = "text/csv; charset=utf-8"


def _site_codes(session: Session) -> dict[int, str]:
    return {int(i): str(c) for i, c in session.execute(select(Site.id, Site.code))}


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


def _dealer_code(session: Session, dealer_id: int) -> str:
    return session.scalar(select(Dealer.code).where(Dealer.id == dealer_id)) or "?"


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
    return DealerSummaryRead(
        dealer=dealer_read(summary.dealer, sites),
        campaigns=summary.campaigns,
        invitees=summary.invitees,
        bookings=summary.bookings,
        drove=summary.drove,
        bookings_by_status=summary.bookings_by_status,
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
    return [_attributed_read(r) for r in rows]


@router.get("/dealers/{code}/bookings.csv", tags=["dealers"], response_class=Response)
def dealer_bookings_csv(code: str, session: SessionDep, scope: DealerScope) -> Response:
    """The dealer's attributed bookings as CSV (up to 50,000, newest first)."""
    rows: list[service.AttributedBooking] = []
    before: int | None = None
    while len(rows) < 50_000:
        page = service.list_attributed_bookings(
            session, scope=scope, dealer_code=code, limit=500, before_id=before
        )
        rows.extend(page)
        if len(page) < 500:
            break
        before = page[-1].booking.id
    body = service.bookings_csv(rows, service.site_time_zones(session))
    return _csv(body, f"{code.upper()}-bookings.csv")


# Campaigns, codes, invitees ---------------------------------------------------------------


@router.get("/campaigns", response_model=list[CampaignRead], tags=["campaigns"])
def list_campaigns(
    session: SessionDep,
    scope: DealerScope,
    dealer: str | None = None,
    include_archived: bool = False,
    limit: int = Query(default=50, ge=1, le=500),
    after_id: Id | None = None,
) -> list[CampaignRead]:
    rows = service.list_campaigns(
        session,
        scope=scope,
        dealer_code=dealer,
        include_archived=include_archived,
        limit=limit,
        after_id=after_id,
    )
    stats = service.campaign_stats(session, [c.id for c in rows])
    codes = {
        int(i): str(c)
        for i, c in session.execute(
            select(Dealer.id, Dealer.code).where(Dealer.id.in_({c.dealer_id for c in rows}))
        )
    }
    return [campaign_read(c, codes.get(c.dealer_id, "?"), stats[c.id]) for c in rows]


@router.post("/campaigns", response_model=CampaignRead, status_code=201, tags=["campaigns"])
def create_campaign(body: CampaignCreate, session: SessionDep, scope: DealerScope) -> CampaignRead:
    """A dealer's staff create campaigns for their dealer; centre staff name the dealer."""
    campaign = service.create_campaign(
        session,
        scope=scope,
        dealer_code=body.dealer,
        name=body.name,
        description=body.description,
        products=body.products,
        drive_from=body.drive_from,
        drive_to=body.drive_to,
    )
    return _campaign(session, scope, campaign.id)


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead, tags=["campaigns"])
def get_campaign(campaign_id: Id, session: SessionDep, scope: DealerScope) -> CampaignRead:
    return _campaign(session, scope, campaign_id)


@router.post("/campaigns/{campaign_id}/archive", response_model=CampaignRead, tags=["campaigns"])
def archive_campaign(campaign_id: Id, session: SessionDep, scope: DealerScope) -> CampaignRead:
    """Close the campaign: its codes stop working; bookings made stand."""
    service.archive_campaign(session, scope=scope, campaign_id=campaign_id)
    return _campaign(session, scope, campaign_id)


@router.get("/campaigns/{campaign_id}/codes", response_model=list[CodeRead], tags=["campaigns"])
def list_codes(
    campaign_id: Id,
    session: SessionDep,
    scope: DealerScope,
    kind: str | None = Query(default=None, pattern="^(shared|personal)$"),
    limit: int = Query(default=100, ge=1, le=500),
    after_id: Id | None = None,
) -> list[CodeRead]:
    rows = service.list_codes(
        session, scope=scope, campaign_id=campaign_id, kind=kind, limit=limit, after_id=after_id
    )
    return [code_read(c) for c in rows]


@router.post(
    "/campaigns/{campaign_id}/codes", response_model=CodeRead, status_code=201, tags=["campaigns"]
)
def create_code(
    campaign_id: Id, body: CodeCreate, session: SessionDep, scope: DealerScope
) -> CodeRead:
    """A shared code: single use by default; `max_uses` for more, null for no limit but the
    dealer's monthly places."""
    code = service.create_code(
        session,
        scope=scope,
        campaign_id=campaign_id,
        code=body.code,
        max_uses=body.max_uses,
        expires_at=body.expires_at,
        drive_from=body.drive_from,
        drive_to=body.drive_to,
    )
    return code_read(code)


@router.post(
    "/campaigns/{campaign_id}/codes/{code}/revoke", response_model=CodeRead, tags=["campaigns"]
)
def revoke_code(campaign_id: Id, code: str, session: SessionDep, scope: DealerScope) -> CodeRead:
    return code_read(service.revoke_code(session, scope=scope, code=code, campaign_id=campaign_id))


@router.get(
    "/campaigns/{campaign_id}/invitees", response_model=list[InviteeRead], tags=["campaigns"]
)
def list_invitees(
    campaign_id: Id,
    session: SessionDep,
    scope: DealerScope,
    search: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=100, ge=1, le=500),
    after_id: Id | None = None,
) -> list[InviteeRead]:
    rows = service.list_invitees(
        session,
        scope=scope,
        campaign_id=campaign_id,
        search=search,
        limit=limit,
        after_id=after_id,
    )
    return [invitee_read(r) for r in rows]


@router.post(
    "/campaigns/{campaign_id}/invitees",
    response_model=InviteeRead,
    status_code=201,
    tags=["campaigns"],
)
def add_invitee(
    campaign_id: Id, body: InviteeCreate, session: SessionDep, scope: DealerScope
) -> InviteeRead:
    """Invite one person: they get a personal single-use code; send them its `link`."""
    row = service.add_invitee(
        session,
        scope=scope,
        campaign_id=campaign_id,
        name=body.name,
        email=body.email,
        phone=body.phone,
        consent_marketing=body.consent_marketing,
        product_code=body.product,
        note=body.note,
    )
    return invitee_read(row)


@router.post(
    "/campaigns/{campaign_id}/invitees/import",
    response_model=ImportReportRead,
    tags=["campaigns"],
    responses={
        201: {"description": "Imported"},
        422: {"description": "Rejected rows and no accept_partial: nothing written"},
    },
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_invitees(
    campaign_id: Id,
    request: Request,
    response: Response,
    session: SessionDep,
    scope: DealerScope,
    commit: bool = Query(default=False, description="Write; otherwise a dry run"),
    accept_partial: bool = Query(
        default=False, description="With commit: write the good rows even if some are rejected"
    ),
) -> ImportReportRead:
    """Import invitees from a CSV body (columns name, email, phone, consent, product, note).
    A dry run by default: the per-row report, nothing written. With `commit=true` all rows
    are written together, or, if any row is rejected, none (422 with the report) unless
    `accept_partial=true`."""
    text = imports.decode(await request.body())
    report = imports.import_invitees(
        session,
        scope=scope,
        campaign_id=campaign_id,
        text=text,
        commit=commit,
        accept_partial=accept_partial,
    )
    if report.committed:
        response.status_code = 201
    return ImportReportRead.model_validate(report.as_dict())


@router.get("/campaigns/{campaign_id}/invitees.csv", tags=["campaigns"], response_class=Response)
def invitees_csv(campaign_id: Id, session: SessionDep, scope: DealerScope) -> Response:
    """The campaign's invitees with their personal codes and links, as CSV."""
    rows: list[service.InviteeRow] = []
    after: int | None = None
    while True:
        page = service.list_invitees(
            session, scope=scope, campaign_id=campaign_id, limit=500, after_id=after
        )
        rows.extend(page)
        if len(page) < 500:
            break
        after = page[-1].invitee.id
    return _csv(service.invitees_csv(rows), f"campaign-{campaign_id}-invitees.csv")


@router.get("/invitees", response_model=list[InviteeRead], tags=["campaigns"])
def search_invitees(
    session: SessionDep,
    scope: DealerScope,
    search: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=50, ge=1, le=500),
    after_id: Id | None = None,
) -> list[InviteeRead]:
    """Search invitees by name or e-mail across your dealer's campaigns."""
    rows = service.list_invitees(
        session, scope=scope, search=search, limit=limit, after_id=after_id
    )
    return [invitee_read(r) for r in rows]


# Public: the guest's invitation -----------------------------------------------------------


@router.get("/invitations/{code}", response_model=InvitationRead, tags=["invitations"])
def get_invitation(code: str, request: Request, session: SessionDep) -> InvitationRead:
    """What an invitation allows: the dealer, the experiences and the dates. Case and spaces
    in the code do not matter. 404 unknown, 410 expired or withdrawn, 409 used up; 429 after
    many unknown codes from one address."""
    with code_guesses(request):
        inv = service.get_invitation(session, code=code)
    return InvitationRead(
        code=inv.code,
        kind=inv.kind,
        dealer=InvitationDealer(
            code=inv.dealer_code, name=inv.dealer_name, city=inv.dealer_city, state=inv.dealer_state
        ),
        campaign=inv.campaign_name,
        products=[
            InvitationProductRead(
                code=p.code,
                name=p.name,
                site=p.site,
                duration_minutes=p.duration_minutes,
                price=p.price_cents / 100,
                currency=p.currency,
            )
            for p in inv.products
        ],
        drive_from=inv.drive_from,
        drive_to=inv.drive_to,
        expires_at=inv.expires_at,
        uses_left=inv.uses_left,
        invitee_name=inv.invitee_name,
    )


@router.get(
    "/invitations/{code}/availability",
    response_model=InvitationAvailabilityRead,
    tags=["invitations"],
)
def invitation_availability(
    code: str,
    request: Request,
    session: SessionDep,
    product: str,
    date_from: Annotated[Day, Query(alias="from")],
    date_to: Day | None = Query(default=None, alias="to"),
) -> InvitationAvailabilityRead:
    """Free start times for one of the invitation's experiences, within its dates and the
    dealer's places left per month."""
    with code_guesses(request):
        result = service.invitation_availability(
            session,
            code=code,
            product_code=product,
            date_from=date_from,
            date_to=date_to or date_from + timedelta(days=29),
            now=utcnow(),
        )
    zone = ZoneInfo(result.time_zone)
    return InvitationAvailabilityRead(
        code=result.invitation.code,
        product=result.product.code,
        time_zone=result.time_zone,
        date_from=result.date_from,
        date_to=result.date_to,
        places_left={f"{m:%Y-%m}": n for m, n in result.places_left.items()},
        slots=[SlotRead.model_validate(s) for s in slot_answers(result.slots, zone)],
    )


@router.post(
    "/invitations/{code}/bookings",
    response_model=BookingRead,
    status_code=201,
    tags=["invitations"],
    responses={
        404: {"description": "Unknown code"},
        409: {"description": "Used up, sold out, or the dealer's places are all taken"},
        410: {"description": "Expired or withdrawn"},
        422: {"description": "Not valid for this experience or date"},
    },
)
def book_with_code(
    code: str,
    body: BookingCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> BookingRead:
    """Book with an invitation: the booking is attributed to the dealer (and the invitee of
    a personal code) and takes one of the dealer's places for the month."""
    per_address.admit(request)
    with code_guesses(request):
        result = _book(code, body, request, session, idempotency_key)
    if result.replayed:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/bookings/{result.booking.ref}"
    return booking_read(result, with_token=True)


def _book(
    code: str,
    body: BookingCreate,
    request: Request,
    session: Session,
    idempotency_key: str | None,
) -> booking_service.BookingResult:
    return service.book_with_code(
        session,
        code=code,
        product_code=body.product,
        starts_at=body.starts_at,
        guest=booking_service.Guest(
            body.guest.name, str(body.guest.email), body.guest.phone, body.notes
        ),
        hold=body.hold,
        hold_minutes=request.app.state.settings.hold_minutes,
        idempotency_key=idempotency_key,
        channel="invitation",
        actor=f"guest:{body.guest.email}",
    )


# Helpers ----------------------------------------------------------------------------------


def _campaign(session: Session, scope: Scope, campaign_id: int) -> CampaignRead:
    campaign = service.get_campaign(session, scope=scope, campaign_id=campaign_id)
    stats = service.campaign_stats(session, [campaign.id])[campaign.id]
    return campaign_read(campaign, _dealer_code(session, campaign.dealer_id), stats)


def _attributed_read(r: service.AttributedBooking) -> AttributedBookingRead:
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


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
