"""Users: the list, opening an account, deactivating and reactivating, resetting a password.
A new or reset password is a temporary one, shown once on the page that answers the form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from paddock.accounts import service as accounts
from paddock.accounts import temporary
from paddock.accounts.models import ROLE_VALUES
from paddock.errors import DomainError
from paddock.http import SessionDep
from paddock.web.admin import AdminPage
from paddock.web.deps import page_router
from paddock.web.flash import flash
from paddock.web.rendering import render, see_other

router = page_router(prefix="/admin")
USERS_SHOWN = 500


@router.get("")
def home(request: Request, user: AdminPage) -> HTMLResponse:
    return render(request, "admin/home.html", {})


def _users_page(
    request: Request,
    session: SessionDep,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    users = accounts.list_users(session, limit=USERS_SHOWN)
    codes = accounts.dealer_codes(session, [u.dealer_id for u in users if u.dealer_id])
    return render(
        request,
        "admin/users.html",
        {
            "users": users,
            "dealer_codes": codes,
            "roles": ROLE_VALUES,
            "values": values or {},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/users")
def users(request: Request, session: SessionDep, user: AdminPage) -> HTMLResponse:
    return _users_page(request, session)


@router.post("/users")
def open_account(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=16)],
    name: Annotated[str, Form(max_length=200)] = "",
    dealer: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    try:
        made = temporary.open_account(
            session,
            email=email,
            role=role,
            name=name,
            dealer_code=dealer.strip().upper() or None,
            actor=user.actor,
        )
    except DomainError as exc:
        values = {"email": email, "role": role, "name": name, "dealer": dealer}
        return _users_page(
            request, session, values=values, error=exc.detail, status_code=exc.status
        )
    return _password_page(request, made, opened=True)


@router.post("/users/{user_id}/reset")
def reset(request: Request, session: SessionDep, user: AdminPage, user_id: int) -> Response:
    try:
        made = temporary.reset_to_temporary(session, user_id=user_id, actor=user.actor)
    except DomainError as exc:
        flash(request, exc.detail, "error")
        return see_other(request, "/admin/users")
    return _password_page(request, made, opened=False)


@router.post("/users/{user_id}/deactivate")
def deactivate(request: Request, session: SessionDep, user: AdminPage, user_id: int) -> Response:
    return _set_active(request, session, user_id, False, user.actor)


@router.post("/users/{user_id}/activate")
def activate(request: Request, session: SessionDep, user: AdminPage, user_id: int) -> Response:
    return _set_active(request, session, user_id, True, user.actor)


def _set_active(
    request: Request, session: SessionDep, user_id: int, active: bool, actor: str
) -> Response:
    try:
        changed = accounts.set_active(session, user_id=user_id, active=active, actor=actor)
    except DomainError as exc:
        flash(request, exc.detail, "error")
    else:
        done = "can sign in again" if active else "is deactivated and signed out everywhere"
        flash(request, f"{changed.email} {done}.", "success")
    return see_other(request, "/admin/users")


def _password_page(request: Request, made: temporary.WithPassword, *, opened: bool) -> HTMLResponse:
    response = render(request, "admin/password.html", {"made": made, "opened": opened})
    response.headers["Cache-Control"] = "no-store"  # the password is shown once
    return response
