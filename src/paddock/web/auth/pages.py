"""Sign in and sign out (staff, dealers, motorsport). Guests never need an account."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from paddock.accounts import service as accounts
from paddock.accounts.deps import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from paddock.accounts.errors import BadCredentials, TooManyAttempts
from paddock.clients import client_address, secure_cookies
from paddock.http import SessionDep
from paddock.web.deps import HOME_BY_ROLE, page_router
from paddock.web.flash import flash
from paddock.web.forms import read_form
from paddock.web.rendering import render, see_other

router = page_router()


class LoginForm(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    next: str = ""


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://...`, nor one with a
    control character (CR/LF would end the redirect's header)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return ""


@router.get("/login")
def login_page(request: Request, next: str = "") -> HTMLResponse:
    user = request.state.user
    context = {"values": {"next": safe_next(next)}, "errors": {}, "signed_in_as": user}
    return render(request, "auth/login.html", context)


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    values, errors, form = await read_form(request, LoginForm)
    values.pop("password", None)  # never echoed back into the page
    status, headers = 422, {}
    if form is not None:
        try:
            sign_in = accounts.login(
                session,
                email=form.email,
                password=form.password,
                ip=client_address(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except BadCredentials as exc:
            errors["form"], status = exc.detail, 401
        except TooManyAttempts as exc:
            errors["form"], status = exc.detail, 429
            headers["Retry-After"] = str(exc.extra["retry_after"])
        else:
            flash(request, f"Signed in as {sign_in.user.name or sign_in.user.email}.", "success")
            target = safe_next(form.next) or HOME_BY_ROLE.get(sign_in.user.role, "/")
            response = see_other(request, target)
            set_session_cookie(response, sign_in, secure=secure_cookies(request))
            return response
    return render(
        request,
        "auth/login.html",
        {"values": values, "errors": errors, "signed_in_as": None},
        status_code=status,
        headers=headers,
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.logout(session, token=token)
    flash(request, "You are signed out.", "info")
    response = see_other(request, "/login")
    clear_session_cookie(response, secure=secure_cookies(request))
    return response
