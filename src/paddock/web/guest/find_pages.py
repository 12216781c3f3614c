"""'Find my booking': a guest types their e-mail address and receives one mail with the links
to their upcoming bookings (paddock/mail/find.py). The page answers the same whether or not
the address has bookings."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from paddock.clients import client_address
from paddock.emails import EmailAddress
from paddock.errors import TooManyRequests
from paddock.http import SessionDep
from paddock.mail import find
from paddock.web.deps import page_router
from paddock.web.forms import read_form
from paddock.web.rendering import render

router = page_router()
SENT = (
    "If there are upcoming bookings for {email}, a message with their links is on its way. "
    "It can take a few minutes; look in your spam folder too."
)


class FindForm(BaseModel):
    email: EmailAddress


@router.get("/find")
def find_page(request: Request) -> HTMLResponse:
    return render(request, "guest/find.html", {"values": {}, "errors": {}, "sent": ""})


@router.post("/find")
async def find_bookings(request: Request, session: SessionDep) -> Response:
    values, errors, form = await read_form(request, FindForm)
    status, headers, sent = 422, {}, ""
    if form is not None:
        try:
            find.request_booking_links(session, email=form.email, ip=client_address(request))
        except TooManyRequests as exc:
            errors["form"], status = exc.detail, 429
            headers["Retry-After"] = str(exc.extra["retry_after"])
        else:
            status, sent = 200, SENT.format(email=form.email)
    context = {"values": values, "errors": errors, "sent": sent}
    return render(request, "guest/find.html", context, status_code=status, headers=headers)
