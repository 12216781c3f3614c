"""FastAPI dependencies: who is calling (session cookie or bearer token), role checks, and the
dealer a dealer's staff or token is confined to. 401 = not signed in; 403 = not allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Response

from paddock.accounts import service
from paddock.accounts.models import Role
from paddock.accounts.service import Principal, Scope, SignIn
from paddock.errors import Forbidden, Unauthorized
from paddock.http import SessionDep

SESSION_COOKIE = "paddock_session"


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller, or None when anonymous. A bearer token that is not valid is an error (the
    client meant to authenticate); a stale cookie just means anonymous."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Send the API token as 'Authorization: Bearer <token>'.")
        principal = service.token_principal(session, secret=secret.strip())
        if principal is None:
            raise Unauthorized("This API token is not valid: unknown, revoked or expired.")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return service.session_principal(session, token=cookie)
    return None


def current_principal(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    if principal is None:
        if request.cookies.get(SESSION_COOKIE):
            raise Unauthorized("Your session has ended; please sign in again.")
        raise Unauthorized("Sign in, or send an API token as 'Authorization: Bearer <token>'.")
    return principal


MaybeUser = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role | str) -> Callable[[Principal], Principal]:
    """A dependency admitting only these roles: `Depends(require_roles(Role.ADMIN))`."""
    allowed = frozenset(Role(r) for r in roles)
    names = ", ".join(sorted(allowed))

    def check(principal: CurrentUser) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"This needs one of the roles: {names}.")
        return principal

    return check


def require_user(principal: CurrentUser) -> Principal:
    """A person signed in (not an API token): e.g. to create tokens or change a password."""
    if principal.kind != "user":
        raise Forbidden("An API token cannot do this; sign in as a person.")
    return principal


def dealer_scope(principal: CurrentUser) -> Scope:
    """Admins and operations see every dealer; dealer staff and tokens only their own."""
    return Scope.of(principal)


DealerScope = Annotated[Scope, Depends(dealer_scope)]
AdminUser = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
StaffUser = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPERATIONS))]
PersonUser = Annotated[Principal, Depends(require_user)]


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
