"""FastAPI dependencies: who is calling (session cookie or bearer token), the access rules
(accounts.access) and the dealer a dealer's staff or token is confined to.
401 = not signed in; 403 = not allowed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response

from paddock.accounts import service
from paddock.accounts.access import (
    DEALER_DATA,
    AdminUser,
    CurrentUser,
    PersonUser,
    StaffUser,
)
from paddock.accounts.principals import SESSION_COOKIE, optional_principal
from paddock.accounts.service import Principal, Scope, SignIn

__all__ = [
    "SESSION_COOKIE",
    "AdminUser",
    "CurrentUser",
    "DealerScope",
    "MaybeUser",
    "PersonUser",
    "StaffUser",
    "clear_session_cookie",
    "set_session_cookie",
]

MaybeUser = Annotated[Principal | None, Depends(optional_principal)]


def dealer_scope(principal: Annotated[Principal, Depends(DEALER_DATA)]) -> Scope:
    """Admins and operations see every dealer; dealer staff and tokens only their own."""
    return Scope.of(principal)


DealerScope = Annotated[Scope, Depends(dealer_scope)]


def set_session_cookie(response: Response, sign_in: SignIn, *, secure: bool) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it)."""
    response.set_cookie(
        SESSION_COOKIE,
        sign_in.token,
        max_age=int(service.SESSION_MAX.total_seconds()),
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=secure, samesite="lax")
