"""Campaigns, their codes and invitees as JSON (scoped to the caller's dealer): create, list,
archive, issue and revoke codes, invite one person or import a CSV, and the invitees' CSV."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.deps import DealerScope
from paddock.accounts.service import Scope
from paddock.dealers import imports, service
from paddock.dealers.reads import campaign_read, code_read, csv_response, invitee_read
from paddock.dealers.schemas import (
    CampaignCreate,
    CampaignRead,
    CodeCreate,
    CodeRead,
    ImportReportRead,
    InviteeCreate,
    InviteeRead,
)
from paddock.http import SessionDep
from paddock.limits import Id

router = APIRouter(prefix="/api/v1")


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
    codes = accounts.dealer_codes(session, [c.dealer_id for c in rows])
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
    body = service.campaign_invitees_csv(session, scope=scope, campaign_id=campaign_id)
    return csv_response(body, f"campaign-{campaign_id}-invitees.csv")


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


# Helpers ----------------------------------------------------------------------------------


def _campaign(session: Session, scope: Scope, campaign_id: int) -> CampaignRead:
    campaign = service.get_campaign(session, scope=scope, campaign_id=campaign_id)
    stats = service.campaign_stats(session, [campaign.id])[campaign.id]
    code = accounts.dealer_codes(session, [campaign.dealer_id]).get(campaign.dealer_id, "?")
    return campaign_read(campaign, code, stats)
