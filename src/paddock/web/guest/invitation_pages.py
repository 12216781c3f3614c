"""A dealer's invitation on the guest pages: the code typed or followed (/invite/<code>), its
experiences' free times within its dates and the dealer's places, and holding one with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from paddock.bookings import per_address
from paddock.capacity.engine import Slot
from paddock.dealers import service as dealers
from paddock.errors import DomainError
from paddock.http import SessionDep, retry_headers
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.guest import invitations
from paddock.web.guest.shared import HOLD_GUEST, guest_message, make_picker, parse_instant
from paddock.web.rendering import render, see_other

router = page_router()


@router.get("/invite")
def invite_form(request: Request, code: str = "") -> Response:
    """Where a guest types a code from a dealer's invitation."""
    if code.strip():
        return see_other(request, f"/invite/{dealers.normalize_code(code)}")
    return render(request, "guest/invite_code.html", {"error": "", "code": ""})


@router.get("/invite/{code}")
def invitation(request: Request, session: SessionDep, code: str) -> Response:
    try:
        found = invitations.look_up(request, session, code)
    except DomainError as exc:
        return render(
            request,
            "guest/invite_code.html",
            {"error": exc.detail, "code": code},
            status_code=exc.status,
            headers=retry_headers(exc),
        )
    return render(request, "guest/invitation.html", {"inv": found})


@router.get("/invite/{code}/book/{product_code}")
def invitation_book(
    request: Request,
    session: SessionDep,
    code: str,
    product_code: str,
    month: str | None = None,
    day: str | None = None,
) -> HTMLResponse:
    found, product = invitations.invitation_product(request, session, code, product_code)

    def load(date_from: date, date_to: date, at: datetime) -> Sequence[Slot]:
        return dealers.invitation_availability(
            session,
            code=found.code,
            product_code=product.code,
            date_from=date_from,
            date_to=date_to,
            now=at,
        ).slots

    base = f"/invite/{found.code}/book/{product.code}"
    picker = make_picker(
        session,
        product,
        month=month,
        day=day,
        nav_url=base,
        action_url=f"{base}/hold",
        load=load,
        window=(found.drive_from, found.drive_to),
    )
    return render(
        request,
        "guest/book.html",
        {"product": product, "picker": picker, "moving": None, "inv": found},
        partial="guest/_picker.html",
    )


@router.post("/invite/{code}/book/{product_code}/hold")
def invitation_hold(
    request: Request,
    session: SessionDep,
    code: str,
    product_code: str,
    starts_at: Annotated[str, Form()],
    request_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    per_address.admit(request)
    found, product = invitations.invitation_product(request, session, code, product_code)
    start = parse_instant(starts_at)
    try:
        result = dealers.book_with_code(
            session,
            code=found.code,
            product_code=product.code,
            starts_at=start,
            guest=HOLD_GUEST,
            hold=True,
            hold_minutes=request.app.state.settings.hold_minutes,
            idempotency_key=f"web-code-hold:{request_id}:{starts_at}" if request_id else None,
            channel="invitation",
            actor="guest:web",
        )
    except DomainError as exc:
        flash(request, guest_message(exc), "error")
        return see_other(request, invitations.day_url(found.code, product, start))
    return see_other(request, f"/b/{result.booking.manage_token}/details")
