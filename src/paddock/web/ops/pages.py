"""The operations console: the day's timeline per resource, check-in by QR code or search,
no-shows, moving a booking to another time or another unit (phone bookings and cancellations:
desk.py; the run sheet and a coach's own day: run_sheet.py). Operations staff and admins act;
coaches see the same pages read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from paddock.accounts.models import Role
from paddock.bookings import service as bookings
from paddock.capacity.models import Site
from paddock.catalog import service as catalog
from paddock.db import utcnow
from paddock.errors import DomainError, Invalid, NotFound
from paddock.http import SessionDep
from paddock.web.assets import registry
from paddock.web.deps import OpsPage, OpsWriter, can, page_router
from paddock.web.flash import flash
from paddock.web.guest.calendar import SlotView, shortfall_reason
from paddock.web.guest.qr import ref_from_token
from paddock.web.ops import queries
from paddock.web.ops.timeline import grid_css, load_timeline
from paddock.web.rendering import render, see_other

router = page_router(prefix="/ops")
registry.add("ops/timeline.css", grid_css)
WRITERS = (Role.ADMIN, Role.OPERATIONS)


def _site(session: Session, code: str | None) -> tuple[Site, list[Site]]:
    # The centres' sites, not the motorsport support organisation (no products there).
    with_products = {p.site_id for p in catalog.list_products(session, include_private=True)}
    sites = [s for s in catalog.list_sites(session) if s.id in with_products]
    if not sites:
        raise NotFound("No site is set up yet.")
    if not code:
        return sites[0], sites
    wanted = code.upper()
    site = next((s for s in sites if s.code.upper() == wanted), None)
    if site is None:
        raise NotFound(f"No site with code '{code}'.")
    return site, sites


def _day(text: str | None, site: Site) -> date:
    today = utcnow().astimezone(ZoneInfo(site.time_zone)).date()
    if not text:
        return today
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"'{text}' is not a date like {today.isoformat()}.") from exc


def start_times(
    session: Session, product_code: str, day: date, zone: ZoneInfo, now: datetime
) -> list[SlotView]:
    """A product's start times on a local day, with what is left (or why none is)."""
    result = catalog.availability(
        session, product_code=product_code, date_from=day, date_to=day, now=now
    )
    return [
        SlotView(
            s.starts_at,
            s.starts_at.astimezone(zone),
            s.remaining,
            "" if s.remaining else shortfall_reason(s),
        )
        for s in result.slots
    ]


@router.get("")
def timeline(
    request: Request,
    session: SessionDep,
    user: OpsPage,
    site: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    chosen, sites = _site(session, site)
    when = _day(day, chosen)
    view = load_timeline(session, site=chosen, day=when, now=utcnow())
    return render(
        request,
        "ops/timeline.html",
        {
            "t": view,
            "sites": sites,
            "previous": when - timedelta(days=1),
            "next": when + timedelta(days=1),
            "today": utcnow().astimezone(ZoneInfo(chosen.time_zone)).date(),
            "ops_site": chosen.code,
        },
        partial="ops/_timeline.html",
    )


@router.get("/bookings")
def search(
    request: Request,
    session: SessionDep,
    user: OpsPage,
    q: str = "",
    site: str | None = None,
) -> Response:
    secret = str(request.app.state.settings.secret_key)
    chosen, sites = _site(session, site)
    if q:
        results = queries.search(session, text=q, secret=secret)
    else:
        today = _day(None, chosen)
        start = datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo(chosen.time_zone))
        results = queries.arrivals(
            session, site=chosen, day_start=start, day_end=start + timedelta(days=1)
        )
    kind, value = queries.interpret_search(q, secret)
    exact = len(results) == 1 and results[0].ref == value.upper()
    if kind.startswith("ref") and exact and not request.headers.get("hx-request"):
        # A scanned code or a typed reference: straight to the booking.
        return see_other(request, f"/ops/bookings/{results[0].ref}")
    return render(
        request,
        "ops/search.html",
        {"q": q, "results": results, "site": chosen, "sites": sites, "ops_site": chosen.code},
        partial="ops/_results.html",
    )


@router.get("/scan/{token}", name="scan")
def scan(request: Request, token: str, user: OpsPage) -> Response:
    """Where a guest's check-in QR code leads."""
    ref = ref_from_token(str(request.app.state.settings.secret_key), token)
    if ref is None:
        raise NotFound("This is not a Paddock check-in code (or it was made by another system).")
    return see_other(request, f"/ops/bookings/{ref}?scanned=1")


@router.get("/bookings/{ref}")
def booking(
    request: Request,
    session: SessionDep,
    user: OpsPage,
    ref: str,
    scanned: bool = False,
    move_day: str | None = None,
) -> HTMLResponse:
    now = utcnow()
    view = queries.booking_view(session, ref=ref, now=now)
    zone = ZoneInfo(view.zone)
    slots: list[SlotView] = []
    chosen_day = None
    if move_day and can(user, *WRITERS):
        chosen_day = _day(move_day, view.site)
        slots = start_times(session, view.product.code, chosen_day, zone, now)
    return render(
        request,
        "ops/booking.html",
        {
            "v": view,
            "scanned": scanned,
            "writer": can(user, *WRITERS),
            "move_day": chosen_day,
            "slots": slots,
            "local_start": view.booking.starts_at.astimezone(zone),
            "ops_site": view.site.code,
        },
    )


def _act(request: Request, ref: str, action: Callable[[], object], success: str) -> Response:
    try:
        action()
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        flash(request, success, "success")
    return see_other(request, f"/ops/bookings/{ref.upper()}")


@router.post("/bookings/{ref}/check-in")
def check_in(request: Request, session: SessionDep, user: OpsWriter, ref: str) -> Response:
    return _act(
        request,
        ref,
        lambda: bookings.check_in(session, ref=ref, actor=user.actor),
        f"{ref.upper()} is checked in.",
    )


@router.post("/bookings/{ref}/no-show")
def no_show(request: Request, session: SessionDep, user: OpsWriter, ref: str) -> Response:
    return _act(
        request,
        ref,
        lambda: bookings.mark_no_show(session, ref=ref, actor=user.actor),
        f"{ref.upper()} is marked as a no-show; its resources are free again.",
    )


@router.post("/bookings/{ref}/complete")
def complete(request: Request, session: SessionDep, user: OpsWriter, ref: str) -> Response:
    return _act(
        request,
        ref,
        lambda: bookings.complete(session, ref=ref, actor=user.actor),
        f"{ref.upper()} is completed.",
    )


@router.post("/bookings/{ref}/move")
def move(
    request: Request,
    session: SessionDep,
    user: OpsWriter,
    ref: str,
    starts_at: Annotated[str, Form()],
) -> Response:
    try:
        start = datetime.fromisoformat(starts_at)
    except ValueError:
        flash(request, "That start time is not valid.", "error")
        return see_other(request, f"/ops/bookings/{ref.upper()}")
    return _act(
        request,
        ref,
        lambda: bookings.reschedule(session, ref=ref, starts_at=start, actor=user.actor),
        f"{ref.upper()} is moved.",
    )


@router.post("/bookings/{ref}/swap")
def swap(
    request: Request,
    session: SessionDep,
    user: OpsWriter,
    ref: str,
    from_unit: Annotated[int, Form()],
    to_unit: Annotated[int, Form()],
) -> Response:
    return _act(
        request,
        ref,
        lambda: bookings.swap_unit(
            session, ref=ref, from_unit_id=from_unit, to_unit_id=to_unit, actor=user.actor
        ),
        f"{ref.upper()} now has another unit.",
    )
