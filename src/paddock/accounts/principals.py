"""Who is calling: a session cookie or a bearer token, read once per request.

Anonymous requests (no cookie, no Authorization header) cost nothing: no database session,
no thread. With credentials, the look-up runs in a worker thread on a short session of its
own (it may slide the session's expiry forward); it is not part of the use case's unit of
work, which may not even write."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from paddock.accounts import service
from paddock.accounts.service import Principal
from paddock.db import run_blocking
from paddock.errors import Unauthorized

SESSION_COOKIE = "paddock_session"


async def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when anonymous. A bearer token that is not valid is an error (the
    client meant to authenticate); a stale cookie just means anonymous."""
    cached = request.scope.get("paddock.principal", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[no-any-return]
    header = request.headers.get("authorization")
    cookie = request.cookies.get(SESSION_COOKIE) if not header else None
    principal: Principal | None = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Send the API token as 'Authorization: Bearer <token>'.")
        principal = await run_blocking(_token, request.app.state.session_factory, secret.strip())
        if principal is None:
            raise Unauthorized("This API token is not valid: unknown, revoked or expired.")
    elif cookie:
        principal = await run_blocking(_cookie, request.app.state.session_factory, cookie)
    request.scope["paddock.principal"] = principal
    return principal


_UNSET = object()


def _token(factory: sessionmaker[Session], secret: str) -> Principal | None:
    with factory() as session:
        return service.token_principal(session, secret=secret)


def _cookie(factory: sessionmaker[Session], token: str) -> Principal | None:
    with factory() as session:
        return service.session_principal(session, token=token)
