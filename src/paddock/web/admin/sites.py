"""Sites: each experience centre's year one (its opening day and its own targets, read by the
dashboard and the KPIs) and its weekly opening hours, with its closures (made and lifted on
the operations fleet page)."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from paddock.capacity import operations
from paddock.capacity import sites as site_settings
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.errors import DomainError, Invalid, NotFound
from paddock.http import SessionDep
from paddock.web.admin import AdminPage
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.rendering import render, see_other

router = page_router(prefix="/admin/sites")


@router.get("")
def sites(
    request: Request, session: SessionDep, user: AdminPage, site: str | None = None
) -> HTMLResponse:
    centres = list(catalog.list_sites(session))
    if not centres:
        raise NotFound("No experience centre is set up yet.")
    chosen = operations.get_site(session, code=site or centres[0].code)
    closures = [
        b
        for b in operations.list_blocks(session, site_code=chosen.code, now=utcnow())
        if b.unit_id is None
    ]
    hours = {h.weekday: h for h in chosen.hours}
    share = chosen.dealer_share_target_bp
    return render(
        request,
        "admin/sites.html",
        {
            "site": chosen,
            "sites": centres,
            "hours": hours,
            "weekdays": site_settings.WEEKDAYS,
            "share_percent": Decimal(share) / 100 if share is not None else None,
            "closures": closures,
        },
    )


def _back(code: str) -> str:
    return f"/admin/sites?site={code.upper()}"


@router.post("/{code}/year-one")
def year_one(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    code: str,
    opens_on: Annotated[str, Form(max_length=10)] = "",
    drivers_target: Annotated[str, Form(max_length=12)] = "",
    dealer_share: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    try:
        site = site_settings.set_year_one(
            session,
            site_code=code,
            settings=site_settings.YearOne(
                opens_on=_day(opens_on),
                drivers_target=_whole(drivers_target, "The drivers target"),
                dealer_share_percent=site_settings.parse_percent(dealer_share),
            ),
            actor=user.actor,
        )
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        opened = f"opens {site.opens_on:%-d %B %Y}" if site.opens_on else "has no opening day"
        flash(request, f"{site.name} {opened}; year-one targets saved.", "success")
    return see_other(request, _back(code))


@router.post("/{code}/hours")
async def hours(request: Request, session: SessionDep, user: AdminPage, code: str) -> Response:
    form = await request.form()
    try:
        week: dict[int, site_settings.DayHours] = {}
        for day, name in enumerate(site_settings.WEEKDAYS):
            if form.get(f"closed_{day}"):
                week[day] = None
                continue
            opens = _time(str(form.get(f"opens_{day}", "")), name)
            closes = _time(str(form.get(f"closes_{day}", "")), name)
            week[day] = (opens, closes)
        site = site_settings.set_hours(session, site_code=code, hours=week, actor=user.actor)
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(request, f"Opening hours of {site.name} saved; new slots follow them.", "success")
    return see_other(request, _back(code))


def _day(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"'{text}' is not a day (YYYY-MM-DD).") from exc


def _whole(text: str, what: str) -> int | None:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        return None
    if not cleaned.isdigit():
        raise Invalid(f"{what} is a whole number, not '{text.strip()}'.")
    return int(cleaned)


def _time(text: str, weekday: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"{weekday}: '{text}' is not a time (HH:MM); or tick closed.") from exc
