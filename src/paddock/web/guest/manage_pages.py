"""The guest's own booking through its private link /b/<token>: see it, the calendar file,
the check-in code, move it or cancel it while it is upcoming."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Form, Query, Request
from fastapi.responses import Response

from paddock.bookings import guest as own_booking
from paddock.bookings.models import BookingStatus
from paddock.bookings.policy import CancellationClosed
from paddock.db import utcnow
from paddock.errors import Busy, Invalid, InvalidTransition, SoldOut
from paddock.http import SessionDep
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.guest import ics, qr
from paddock.web.guest.shared import booked, day_url, guest_message, make_picker, parse_instant
from paddock.web.rendering import render, see_other

router = page_router()


@router.get("/b/{token}")
def manage(request: Request, session: SessionDep, token: str) -> Response:
    found = booked(session, token)
    if found.status == BookingStatus.HELD:
        return see_other(request, f"/b/{token}/details")
    return render(request, "guest/manage.html", {"b": found})


@router.get("/b/{token}/calendar.ics")
def calendar_file(request: Request, session: SessionDep, token: str) -> Response:
    found = booked(session, token)
    booking = found.booking
    site = found.product.site
    body = ics.booking_calendar(
        ref=booking.ref,
        status=found.status,
        title=found.product.name,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        time_zone=site.time_zone,
        location=f"{site.name}, {site.city}",
        arrive_early_minutes=found.product.arrive_early_minutes,
        manage_url=str(request.url_for("manage", token=token)),
        stamp=utcnow(),
        sequence=int((booking.updated_at - booking.created_at).total_seconds()) // 60,
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="paddock-{booking.ref}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


def check_in_url(request: Request, ref: str) -> str:
    secret = str(request.app.state.settings.secret_key)
    return str(request.url_for("scan", token=qr.check_in_token(secret, ref)))


@router.get("/b/{token}/qr.svg")
def check_in_code(request: Request, session: SessionDep, token: str) -> Response:
    found = booked(session, token)
    svg = qr.qr_svg(
        check_in_url(request, found.booking.ref),
        title=f"Check-in code for booking {found.booking.ref}",
    )
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/b/{token}/move")
def move_page(
    request: Request,
    session: SessionDep,
    token: str,
    month: str | None = None,
    day: Annotated[str | None, Query()] = None,
) -> Response:
    found = booked(session, token)
    if not found.can_change:
        flash(request, "This booking can no longer be moved.", "warning")
        return see_other(request, f"/b/{token}")
    local = found.booking.starts_at.astimezone(ZoneInfo(found.zone)).date()
    picker = make_picker(
        session,
        found.product,
        month=month or (None if day else f"{local:%Y-%m}"),
        day=day,
        nav_url=f"/b/{token}/move",
        action_url=f"/b/{token}/move",
    )
    return render(
        request,
        "guest/book.html",
        {"product": found.product, "picker": picker, "moving": found},
        partial="guest/_picker.html",
    )


@router.post("/b/{token}/move")
def move(
    request: Request,
    session: SessionDep,
    token: str,
    starts_at: Annotated[str, Form()],
) -> Response:
    found = booked(session, token)
    start = parse_instant(starts_at)
    try:
        own_booking.move(session, token=token, starts_at=start)
    except (SoldOut, Busy, Invalid, InvalidTransition) as exc:
        flash(request, guest_message(exc), "error")
        return see_other(request, day_url(f"/b/{token}/move", start, found.zone))
    when = start.astimezone(ZoneInfo(found.zone)).strftime("%A %-d %B at %H:%M")
    flash(request, f"Your booking is moved to {when}.", "success")
    return see_other(request, f"/b/{token}")


@router.get("/b/{token}/cancel")
def cancel_page(request: Request, session: SessionDep, token: str) -> Response:
    found = booked(session, token)
    if not found.can_cancel:
        return see_other(request, f"/b/{token}")
    return render(request, "guest/cancel.html", {"b": found})


@router.post("/b/{token}/cancel")
def cancel(
    request: Request,
    session: SessionDep,
    token: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    found = booked(session, token)
    if not found.can_change:
        flash(request, "This booking can no longer be cancelled online.", "warning")
        return see_other(request, f"/b/{token}")
    try:
        own_booking.cancel(session, token=token, reason=reason)
    except CancellationClosed as exc:  # the policy's deadline passed
        flash(request, exc.detail, "warning")
        return see_other(request, f"/b/{token}")
    flash(request, f"Booking {found.booking.ref} is cancelled.", "success")
    return see_other(request, f"/b/{token}")
