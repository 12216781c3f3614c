"""Dealer portal: campaigns, their codes (single- or multi-use, expiry, products, dates), their
invitees one by one or imported from CSV (upload, a dry-run report per row, then commit).
Every write goes through `dealers.service` within the portal's one-dealer scope."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.dealers import imports
from paddock.dealers import service as dealers
from paddock.dealers.models import Campaign
from paddock.errors import DomainError
from paddock.http import SessionDep
from paddock.web.dealer.portal import CampaignPage, DealerPortal, Portal, PortalCampaign
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.forms import read_form
from paddock.web.rendering import render, see_other

router = page_router(prefix="/dealer/campaigns")
INVITEES_SHOWN = 200
REPORT_ROWS_SHOWN = 500
DATE_HINT = "Enter a date like 2026-12-01."


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class CampaignForm(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    drive_from: date
    drive_to: date


class CodeForm(BaseModel):
    code: str = Field(default="", max_length=40)
    usage: Literal["single", "multi", "unlimited"] = "single"
    max_uses: int | None = Field(default=None, ge=2, le=dealers.MAX_USES_LIMIT)
    expires_on: date | None = None
    drive_from: date | None = None
    drive_to: date | None = None

    _blank = field_validator("max_uses", "expires_on", "drive_from", "drive_to", mode="before")(
        _blank_to_none
    )


class InviteeForm(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    phone: str = Field(default="", max_length=40)
    consent: str = ""
    product: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=2000)


def _friendly(errors: dict[str, str]) -> dict[str, str]:
    """Dates and numbers explained the way a person types them."""
    out = {}
    for name, text in errors.items():
        if name in ("drive_from", "drive_to", "expires_on") and "date" in text.lower():
            text = DATE_HINT
        elif name == "max_uses" and ("integer" in text.lower() or "number" in text.lower()):
            text = "Enter a whole number of uses."
        elif name == "name" and text in ("This is too short.", "This field is required."):
            text = "Enter a name."
        out[name] = text
    return out


# --- Campaigns ---------------------------------------------------------------------------------


@router.get("")
def campaigns(
    request: Request, session: SessionDep, portal: DealerPortal, archived: bool = False
) -> HTMLResponse:
    return _campaigns_page(request, session, portal, archived=archived)


def _campaigns_page(
    request: Request,
    session: Session,
    portal: Portal,
    *,
    archived: bool = False,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = dealers.list_campaigns(
        session, scope=portal.scope, include_archived=archived, limit=dealers.PAGE_MAX
    )
    stats = dealers.campaign_stats(session, [c.id for c in rows])
    products = list(catalog.list_products(session))
    today = utcnow().astimezone(portal.zone).date()
    defaults = {
        "drive_from": today.isoformat(),
        "drive_to": (today + timedelta(days=60)).isoformat(),
        "products": [],
    }
    context = {
        "portal": portal,
        "campaigns": sorted(rows, key=lambda c: (c.archived_at is not None, -c.id)),
        "stats": stats,
        "products": products,
        "archived": archived,
        "values": values or defaults,
        "errors": errors or {},
        "today": today,
    }
    return render(request, "dealer/campaigns.html", context, status_code=status_code)


@router.post("")
async def create_campaign(request: Request, session: SessionDep, portal: DealerPortal) -> Response:
    values, errors, form = await read_form(request, CampaignForm)
    chosen = [str(p) for p in (await request.form()).getlist("products") if isinstance(p, str)]
    page_values: dict[str, Any] = {**values, "products": chosen}
    errors = _friendly(errors)
    if not chosen:
        errors["products"] = "Choose at least one experience the guests may book."
    if form is None or errors:
        return _campaigns_page(
            request, session, portal, values=page_values, errors=errors, status_code=422
        )
    try:
        campaign = dealers.create_campaign(
            session,
            scope=portal.scope,
            name=form.name,
            description=form.description,
            products=chosen,
            drive_from=form.drive_from,
            drive_to=form.drive_to,
            today=utcnow().astimezone(portal.zone).date(),
        )
    except DomainError as exc:
        key = "drive_to" if "date" in exc.detail.lower() else "form"
        return _campaigns_page(
            request,
            session,
            portal,
            values=page_values,
            errors={key: exc.detail},
            status_code=exc.status if exc.status != 400 else 422,
        )
    flash(request, f"Campaign “{campaign.name}” created. Now add codes or invitees.", "success")
    return see_other(request, portal.url(f"/dealer/campaigns/{campaign.id}"))


@router.get("/{campaign_id}")
def campaign_page(request: Request, session: SessionDep, at: CampaignPage) -> HTMLResponse:
    return _campaign_page(request, session, at)


def _campaign_page(
    request: Request,
    session: Session,
    at: PortalCampaign,
    *,
    code_values: dict[str, str] | None = None,
    code_errors: dict[str, str] | None = None,
    invitee_values: dict[str, str] | None = None,
    invitee_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    portal, campaign = at.portal, at.campaign
    codes = dealers.list_codes(
        session, scope=portal.scope, campaign_id=campaign.id, kind="shared", limit=dealers.PAGE_MAX
    )
    invitees = dealers.list_invitees(
        session, scope=portal.scope, campaign_id=campaign.id, limit=INVITEES_SHOWN
    )
    stats = dealers.campaign_stats(session, [campaign.id])[campaign.id]
    now = utcnow()
    context = {
        "portal": portal,
        "campaign": campaign,
        "products": list(campaign.products),
        "codes": codes,
        "code_state": {c.id: _code_state(c, campaign, now) for c in codes},
        "invitees": invitees,
        "stats": stats,
        "base_url": str(request.base_url).rstrip("/"),
        "code_values": code_values or {"usage": "single"},
        "code_errors": code_errors or {},
        "invitee_values": invitee_values or {},
        "invitee_errors": invitee_errors or {},
        "closed": campaign.archived_at is not None,
        "invitees_shown": INVITEES_SHOWN,
    }
    return render(request, "dealer/campaign.html", context, status_code=status_code)


def _code_state(code: Any, campaign: Campaign, now: datetime) -> str:
    if code.revoked_at is not None:
        return "revoked"
    if campaign.archived_at is not None:
        return "archived"
    if code.expires_at is not None and code.expires_at <= now:
        return "expired"
    if code.max_uses is not None and code.uses >= code.max_uses:
        return "used up"
    return "active"


@router.post("/{campaign_id}/archive")
def archive(request: Request, session: SessionDep, at: CampaignPage) -> Response:
    dealers.archive_campaign(session, scope=at.portal.scope, campaign_id=at.campaign.id)
    flash(request, "Campaign closed: its codes no longer work; bookings made stand.", "success")
    return see_other(request, at.url())


# --- Codes -------------------------------------------------------------------------------------


@router.post("/{campaign_id}/codes")
async def create_code(request: Request, session: SessionDep, at: CampaignPage) -> Response:
    values, errors, form = await read_form(request, CodeForm)
    errors = _friendly(errors)
    if form is not None and form.usage == "multi" and form.max_uses is None:
        errors["max_uses"] = "Say how many guests may use this code (2 or more)."
    if form is None or errors:
        return _campaign_page(
            request,
            session,
            at,
            code_values=values,
            code_errors=errors,
            status_code=422,
        )
    max_uses = {"single": 1, "multi": form.max_uses, "unlimited": None}[form.usage]
    expires_at = (
        datetime.combine(form.expires_on + timedelta(days=1), time(), tzinfo=at.portal.zone)
        if form.expires_on
        else None
    )
    try:
        code = dealers.create_code(
            session,
            scope=at.portal.scope,
            campaign_id=at.campaign.id,
            code=form.code or None,
            max_uses=max_uses,
            expires_at=expires_at,
            drive_from=form.drive_from,
            drive_to=form.drive_to,
        )
    except DomainError as exc:
        detail = exc.detail
        key = (
            "code"
            if "code" in detail.lower() and "drive" not in detail.lower()
            else "expires_on"
            if "expiry" in detail.lower()
            else "drive_from"
            if "drive" in detail.lower()
            else "form"
        )
        return _campaign_page(
            request,
            session,
            at,
            code_values=values,
            code_errors={key: detail},
            status_code=422 if exc.status == 400 else exc.status,
        )
    uses = {1: "single-use"}.get(code.max_uses or 0, "")
    if not uses:
        uses = f"up to {code.max_uses} uses" if code.max_uses else "no use limit"
    flash(request, f"Code {code.code} created ({uses}). Share the link below.", "success")
    return see_other(request, at.url("#codes"))


@router.post("/{campaign_id}/codes/{code}/revoke")
def revoke_code(request: Request, session: SessionDep, at: CampaignPage, code: str) -> Response:
    row = dealers.revoke_code(session, scope=at.portal.scope, code=code, campaign_id=at.campaign.id)
    flash(request, f"Code {row.code} withdrawn; bookings already made stand.", "success")
    return see_other(request, at.url("#codes"))


# --- Invitees ----------------------------------------------------------------------------------


@router.post("/{campaign_id}/invitees")
async def add_invitee(request: Request, session: SessionDep, at: CampaignPage) -> Response:
    values, errors, form = await read_form(request, InviteeForm)
    errors = _friendly(errors)
    if form is None:
        return _campaign_page(
            request,
            session,
            at,
            invitee_values=values,
            invitee_errors=errors,
            status_code=422,
        )
    try:
        row = dealers.add_invitee(
            session,
            scope=at.portal.scope,
            campaign_id=at.campaign.id,
            name=form.name,
            email=form.email,
            phone=form.phone,
            consent_marketing=form.consent == "yes",
            product_code=form.product,
            note=form.note,
        )
    except DomainError as exc:
        key = "email" if "mail" in exc.detail.lower() else "form"
        return _campaign_page(
            request,
            session,
            at,
            invitee_values=values,
            invitee_errors={key: exc.detail},
            status_code=422 if exc.status == 400 else exc.status,
        )
    flash(
        request,
        f"{row.invitee.name} is invited with the personal code {row.code}: "
        f"send them {dealers.invitation_path(row.code)}.",
        "success",
    )
    return see_other(request, at.url("#invitees"))


# --- CSV import --------------------------------------------------------------------------------


@router.get("/{campaign_id}/import")
def import_form(request: Request, session: SessionDep, at: CampaignPage) -> HTMLResponse:
    return _import_page(request, at)


def _import_page(
    request: Request,
    at: PortalCampaign,
    *,
    report: imports.ImportReport | None = None,
    text: str = "",
    filename: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    portal, campaign = at.portal, at.campaign
    rejected = [r for r in report.rows if not r.accepted] if report else []
    accepted = [r for r in report.rows if r.accepted] if report else []
    context = {
        "portal": portal,
        "campaign": campaign,
        "report": report,
        "rejected": rejected,
        "accepted": accepted[:REPORT_ROWS_SHOWN],
        "accepted_hidden": max(len(accepted) - REPORT_ROWS_SHOWN, 0),
        "payload": base64.urlsafe_b64encode(text.encode()).decode() if text else "",
        "filename": filename,
        "error": error,
        "products": [p.code for p in campaign.products],
    }
    return render(request, "dealer/import.html", context, status_code=status_code)


@router.post("/{campaign_id}/import")
async def import_check(request: Request, session: SessionDep, at: CampaignPage) -> Response:
    """Step 1: the uploaded file is checked row by row; nothing is written."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, at, error="Choose a CSV file to check.", status_code=422)
    data = await upload.read(imports.MAX_BYTES + 1)
    filename = upload.filename
    try:
        text = imports.decode(data)
        report = imports.import_invitees(
            session, scope=at.portal.scope, campaign_id=at.campaign.id, text=text
        )
    except DomainError as exc:
        return _import_page(request, at, error=exc.detail, filename=filename, status_code=422)
    return _import_page(request, at, report=report, text=text, filename=filename)


@router.post("/{campaign_id}/import/commit")
async def import_commit(request: Request, session: SessionDep, at: CampaignPage) -> Response:
    """Step 2: the checked file is written, all of it or (when asked) its acceptable rows."""
    form = await request.form()
    payload = form.get("payload")
    filename = str(form.get("filename") or "")
    partial = form.get("accept_partial") == "yes"
    try:
        text = base64.urlsafe_b64decode(str(payload or "").encode()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text:
        return _import_page(
            request,
            at,
            error="The checked file did not come back with the form; upload it again.",
            status_code=422,
        )
    try:
        report = imports.import_invitees(
            session,
            scope=at.portal.scope,
            campaign_id=at.campaign.id,
            text=text,
            commit=True,
            accept_partial=partial,
        )
    except imports.ImportRefused as exc:
        again = imports.import_invitees(
            session, scope=at.portal.scope, campaign_id=at.campaign.id, text=text
        )
        return _import_page(
            request,
            at,
            report=again,
            text=text,
            filename=filename,
            error=exc.detail,
            status_code=exc.status,
        )
    except DomainError as exc:
        return _import_page(
            request, at, error=exc.detail, filename=filename, status_code=exc.status
        )
    skipped = f"; {report.rejected} row(s) left out" if report.rejected else ""
    flash(
        request,
        f"Imported {report.written} invitee(s) with personal codes{skipped}.",
        "success",
    )
    return see_other(request, at.url("#invitees"))
