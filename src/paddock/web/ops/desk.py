"""The operations desk's pages: a booking taken by phone (staff pick the product, the day and
a free start, and type the guest's details) and a cancellation with its reason."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from paddock.bookings import desk
from paddock.bookings import service as bookings
from paddock.bookings.schemas import GuestIn
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.errors import DomainError, Invalid
from paddock.http import SessionDep
from paddock.web.deps import OpsWriter, page_router
from paddock.web.flash import flash
from paddock.web.forms import read_form
from paddock.web.ops.pages import _day, start_times
from paddock.web.rendering import render, see_other

router = page_router(prefix="/ops")


class PhoneForm(GuestIn):
    product: str = Field(min_length=1, max_length=64)
    starts_at: datetime
    notes: str = Field(default="", max_length=2000)
    # The form's own key: sent twice (a double click, a reload), it books once.
    key: str = Field(default="", max_length=64)


def _choices(
    session: SessionDep, site: str | None, product: str | None, day: str | None
) -> dict[str, Any]:
    """The sites, the chosen site's products (those not sold online too), the chosen day and
    its start times with what is left."""
    products = list(catalog.list_products(session, include_private=True))
    if not products:
        raise Invalid("No product is set up yet.")
    sites = {p.site.code: p.site for p in products}
    chosen_site = sites.get((site or "").upper()) or next(iter(sites.values()))
    here = [p for p in products if p.site_id == chosen_site.id]
    chosen = next((p for p in here if p.code == product), here[0])
    when = _day(day, chosen_site)
    slots = start_times(session, chosen.code, when, ZoneInfo(chosen_site.time_zone), utcnow())
    return {
        "sites": list(sites.values()),
        "site": chosen_site,
        "products": here,
        "product": chosen,
        "day": when,
        "slots": slots,
        "ops_site": chosen_site.code,
        "form_key": secrets.token_urlsafe(16),
    }


@router.get("/phone")
def phone_page(
    request: Request,
    session: SessionDep,
    user: OpsWriter,
    site: str | None = None,
    product: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    context = _choices(session, site, product, day)
    return render(request, "ops/phone.html", context | {"values": {}, "errors": {}})


@router.post("/phone")
async def phone_booking(request: Request, session: SessionDep, user: OpsWriter) -> Response:
    values, errors, data = await read_form(request, PhoneForm)
    if data is not None:
        try:
            result = desk.take_phone_booking(
                session,
                product_code=data.product,
                starts_at=data.starts_at,
                guest=bookings.Guest(data.name, str(data.email), data.phone, data.notes),
                actor=user.actor,
                idempotency_key=f"phone:{data.key}" if data.key else None,
            )
        except DomainError as exc:
            errors["form"] = exc.detail
        else:
            flash(request, f"Booked {result.booking.ref} for {data.name} by phone.", "success")
            return see_other(request, f"/ops/bookings/{result.booking.ref}")
    if "starts_at" in errors:
        errors["form"] = errors.pop("starts_at").replace("This field", "A start time")
    day = values.get("starts_at", "")[:10] or None
    context = _choices(session, values.get("site"), values.get("product"), day)
    return render(
        request,
        "ops/phone.html",
        context | {"values": values, "errors": errors},
        status_code=422,
    )


@router.post("/bookings/{ref}/cancel")
def cancel(
    request: Request,
    session: SessionDep,
    user: OpsWriter,
    ref: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        desk.cancel_with_reason(session, ref=ref, reason=reason, actor=user.actor)
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(request, f"{ref.upper()} is cancelled; its resources are free again.", "success")
    return see_other(request, f"/ops/bookings/{ref.upper()}")
