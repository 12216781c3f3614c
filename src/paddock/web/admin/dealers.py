"""Dealers: the network (search, add a dealer) and one dealer's test-drive places per site and
month (set a month's places)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from paddock.accounts.service import Scope
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.dealers import allotments
from paddock.dealers import service as dealers
from paddock.dealers.models import REGIONS
from paddock.errors import DomainError
from paddock.http import SessionDep
from paddock.web.admin import AdminPage
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.rendering import render, see_other

router = page_router(prefix="/admin/dealers")
DEALERS_SHOWN = 200
MONTHS_SHOWN = 6


def _months_ahead(first: date, count: int) -> tuple[date, date]:
    last = first
    for _ in range(count - 1):
        last = allotments.next_month(last)
    return first, last


@router.get("")
def network(request: Request, session: SessionDep, user: AdminPage, q: str = "") -> HTMLResponse:
    found = dealers.list_dealers(
        session, scope=Scope.everything(user.actor), search=q.strip() or None, limit=DEALERS_SHOWN
    )
    return render(
        request,
        "admin/dealers.html",
        {"dealers": found, "q": q, "regions": REGIONS, "sites": catalog.list_sites(session)},
    )


@router.post("")
def add_dealer(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    code: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=200)],
    city: Annotated[str, Form(max_length=100)],
    state: Annotated[str, Form(max_length=2)],
    region: Annotated[str, Form(max_length=20)],
    home_site: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    monthly_allotment: Annotated[int, Form(ge=0, le=allotments.MAX_PLACES)] = 4,
) -> Response:
    try:
        made = dealers.create_dealer(
            session,
            code=code,
            name=name,
            city=city,
            state=state,
            region=region,
            home_site=home_site or None,
            email=email,
            monthly_allotment=monthly_allotment,
            actor=user.actor,
        )
    except DomainError as exc:
        flash(request, exc.detail, "error")
        return see_other(request, "/admin/dealers")
    flash(request, f"Dealer {made.code} added.", "success")
    return see_other(request, f"/admin/dealers/{made.code}")


@router.get("/{code}")
def dealer(request: Request, session: SessionDep, user: AdminPage, code: str) -> HTMLResponse:
    scope = Scope.everything(user.actor)
    chosen = dealers.get_dealer(session, code=code, scope=scope)
    first, last = _months_ahead(allotments.first_of_month(utcnow().date()), MONTHS_SHOWN)
    places = dealers.list_allotments(
        session, scope=scope, dealer_code=chosen.code, month_from=first, month_to=last
    )
    return render(
        request,
        "admin/dealer.html",
        {
            "dealer": chosen,
            "places": places,
            "sites": {s.id: s for s in catalog.list_sites(session)},
            "this_month": first,
        },
    )


@router.post("/{code}/places")
def set_places(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    code: str,
    site: Annotated[str, Form(max_length=32)],
    month: Annotated[str, Form(max_length=7)],
    places: Annotated[int, Form(ge=0, le=allotments.MAX_PLACES)],
) -> Response:
    try:
        result = dealers.set_allotment(
            session,
            dealer_code=code,
            site_code=site,
            month=allotments.parse_month(month),
            places=places,
            actor=user.actor,
        )
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(
            request,
            f"{code.upper()} has {result.places} place(s) at {site} in {result.month:%B %Y} "
            f"({result.used} booked).",
            "success",
        )
    return see_other(request, f"/admin/dealers/{code.upper()}")
