"""What every JSON router shares: the database session dependency and RFC 9457 problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from paddock.db import is_busy_error
from paddock.errors import Busy, DomainError, Unavailable

PROBLEM_TYPE = "https://paddock.example/problems/"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request. Made on the event loop (no I/O) rather than in a worker thread:
    each thread hop costs more than the booking's own Python work. It is closed there too
    when the use case has ended its transaction (nothing left to roll back), else in a thread.

    This is where a request's reads end: the session closes (rolling back a read transaction,
    giving its connection back) as soon as the handler returns, before the answer is sent
    (`scope="function"`). Handlers and pages never commit or roll back; writes are the unit of
    work's (`paddock.unit_of_work`)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def problem(
    status: int, title: str, detail: str, code: str, instance: str = "", **extra: Any
) -> JSONResponse:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    headers = _retry_after(status, extra)
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _retry_after(status: int, extra: dict[str, Any]) -> dict[str, str] | None:
    """When to try again: the error's own `retry_after` (a throttle's window), else 1 s for
    a passing 503."""
    wait = extra.get("retry_after")
    if isinstance(wait, int) and wait > 0:
        return {"Retry-After": str(wait)}
    return {"Retry-After": "1"} if status == 503 else None


def retry_headers(exc: DomainError) -> dict[str, str]:
    """The Retry-After header an error's answer carries, if any (pages answer with it too)."""
    return _retry_after(exc.status, exc.extra) or {}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.code, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, "invalid", request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        return problem(exc.status_code, detail, detail, f"http-{exc.status_code}", request.url.path)

    async def _database(request: Request, exc: Exception) -> Response:
        # As the domain's own 503s, rendered by whichever DomainError handler is installed
        # (the web's answers browsers with a page).
        handler = request.app.exception_handlers[DomainError]
        response: Response = await handler(request, database_unavailable(exc))
        return response

    app.add_exception_handler(SQLAlchemyOperationalError, _database)
    app.add_exception_handler(psycopg.OperationalError, _database)


def database_unavailable(exc: Exception) -> DomainError:
    """A database that did not answer (down, restarting, its connection lost) or a lock
    wait that ran out, as the 503 a client can retry; never a bare 500."""
    if is_busy_error(exc):
        return Busy("The database is busy with other writers; please retry.")
    if "no such table" in str(exc):  # SQLite before its first `paddock db upgrade`
        return Unavailable(
            "The database has not been set up for this version of Paddock; an administrator "
            "needs to run `paddock db upgrade`."
        )
    return Unavailable("The database cannot be reached right now; please retry.")
