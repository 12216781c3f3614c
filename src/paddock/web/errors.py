"""Errors as pages: a person in a browser gets an HTML page (or, inside an htmx request, a
message in the page's message area); API clients keep RFC 9457 problem+json.

A request is a page request when it went through a web route (`page_request` marks it) or,
for a path no route matched, when it is not under /api and accepts HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from paddock.errors import DomainError, Unauthorized
from paddock.http import retry_headers
from paddock.web.rendering import is_htmx, render

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]


class LoginRequired(Unauthorized):
    """A page needs a signed-in user: browsers are sent to the sign-in page."""


def wants_html(request: Request) -> bool:
    if getattr(request.state, "page", False):
        return True
    if request.url.path.startswith(("/api/", "/docs", "/redoc", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or is_htmx(request):
        # After signing in, go back to the page the form or fragment was on.
        referer = request.headers.get("hx-current-url") or request.headers.get("referer") or "/"
        target = referer if referer.startswith("/") else _path_of(referer, request)
    return f"/login?next={quote(target, safe='/')}"


def _path_of(url: str, request: Request) -> str:
    base = str(request.base_url).rstrip("/")
    return url[len(base) :] or "/" if url.startswith(base) else "/"


def error_page(
    request: Request, status: int, title: str, detail: str, *, code: str = ""
) -> Response:
    """The error page; inside an htmx request, an alert swapped into #messages."""
    context = {"status": status, "title": title, "detail": detail, "code": code}
    if is_htmx(request):
        return render(
            request,
            "errors/_alert.html",
            context,
            status_code=status,
            headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
        )
    return render(request, "errors/error.html", context, status_code=status)


def install_error_pages(app: FastAPI) -> None:
    """Wrap the JSON handlers already installed (paddock.http) with HTML for pages."""
    json_domain: Handler | None = app.exception_handlers.get(DomainError)  # type: ignore[assignment]
    json_http: Handler | None = app.exception_handlers.get(StarletteHTTPException)  # type: ignore[assignment]
    json_validation: Handler | None = app.exception_handlers.get(RequestValidationError)  # type: ignore[assignment]

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if isinstance(exc, LoginRequired) or (
            isinstance(exc, Unauthorized) and wants_html(request)
        ):
            url = login_url(request)
            if request.headers.get("hx-request") == "true":
                return Response(status_code=204, headers={"HX-Redirect": url})
            return Response(status_code=303, headers={"Location": url})
        if wants_html(request) or json_domain is None:
            page = error_page(request, exc.status, exc.title, exc.detail, code=exc.code)
            page.headers.update(retry_headers(exc))  # a throttle's wait, as the API says it
            return page
        return await json_domain(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_html(request) or json_http is None:
            title = {404: "Page not found", 405: "Not allowed"}.get(exc.status_code, "Error")
            detail = (
                "There is no page at this address. Check the link or start again from the home "
                "page."
                if exc.status_code == 404
                else str(exc.detail)
            )
            return error_page(request, exc.status_code, title, detail)
        return await json_http(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if wants_html(request) or json_validation is None:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path', 'body'))}: "
                f"{e['msg']}"
                for e in exc.errors()
            )
            return error_page(
                request, 422, "Invalid input", f"The address is not valid: {problems}"
            )
        return await json_validation(request, exc)

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
