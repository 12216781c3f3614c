"""'Forgot password': ask for a link by e-mail (the same answer for any address), and the
link's page that sets a new password (accounts/password_reset.py)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from paddock.accounts import password_reset
from paddock.clients import client_address
from paddock.errors import Invalid, TooManyRequests
from paddock.http import SessionDep
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.forms import read_form
from paddock.web.rendering import render, see_other

router = page_router()
SENT = (
    "If an account exists for {email}, a link to set a new password is on its way. "
    "It works once, for {minutes} minutes."
)


class ForgotForm(BaseModel):
    email: str = Field(min_length=3, max_length=254)


class ResetForm(BaseModel):
    password: str = Field(min_length=1, max_length=1024)
    confirm: str = Field(min_length=1, max_length=1024)


@router.get("/password/forgot")
def forgot_page(request: Request) -> HTMLResponse:
    return render(request, "auth/forgot.html", {"values": {}, "errors": {}, "sent": ""})


@router.post("/password/forgot")
async def forgot(request: Request, session: SessionDep) -> Response:
    values, errors, form = await read_form(request, ForgotForm)
    status, headers, sent = 422, {}, ""
    if form is not None:
        try:
            password_reset.request_reset(
                session,
                email=form.email,
                secret_key=str(request.app.state.settings.secret_key),
                ip=client_address(request),
            )
        except TooManyRequests as exc:
            errors["form"], status = exc.detail, 429
            headers["Retry-After"] = str(exc.extra["retry_after"])
        else:
            status = 200
            sent = SENT.format(email=form.email, minutes=password_reset.RESET_MINUTES)
    context = {"values": values, "errors": errors, "sent": sent}
    return render(request, "auth/forgot.html", context, status_code=status, headers=headers)


@router.get("/password/reset/{token}")
def reset_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    try:
        user = password_reset.open_reset(session, token=token)
    except Invalid as exc:
        return render(request, "auth/reset.html", {"expired": exc.detail}, status_code=410)
    context = {"expired": "", "email": user.email, "errors": {}, "token": token}
    return render(request, "auth/reset.html", context)


@router.post("/password/reset/{token}")
async def reset(request: Request, session: SessionDep, token: str) -> Response:
    _, errors, form = await read_form(request, ResetForm)
    if form is not None and form.password != form.confirm:
        errors["confirm"] = "The two passwords differ."
    if form is not None and not errors:
        try:
            password_reset.reset_with_token(session, token=token, new=form.password)
        except Invalid as exc:
            errors["password"] = exc.detail
        else:
            flash(request, "Your new password is set. Please sign in with it.", "success")
            return see_other(request, "/login")
    try:
        email = password_reset.open_reset(session, token=token).email
    except Invalid as exc:
        return render(request, "auth/reset.html", {"expired": exc.detail}, status_code=410)
    context = {"expired": "", "email": email, "errors": errors, "token": token}
    return render(request, "auth/reset.html", context, status_code=422)
