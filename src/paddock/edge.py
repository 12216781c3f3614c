"""Input limits at the edge: what every request passes before any endpoint reads it.

`EdgeGuard`, a pure ASGI middleware inside the security headers and outside `HotRoutes` (so
the hot booking route is covered like every other), never buffers a body; it wraps
`receive` and looks at each chunk as it streams in:

- **Body size.** A body may have at most PADDOCK_MAX_BODY_BYTES (1 MiB), or
  PADDOCK_MAX_UPLOAD_BYTES (5 MiB) for the uploads listed in UPLOADS. A Content-Length over
  the limit is answered 413 before anything reads the body; a body without one (chunked) is
  counted as it arrives and refused (413) as soon as it passes the limit.
- **NUL.** No text Paddock stores may contain U+0000 (PostgreSQL refuses it, SQLite would
  keep it): a NUL in the path, `%00` in the query string, a NUL byte in any body, the JSON
  escape `\\u0000` in a JSON body and `%00` in a form body are answered 422.
- **Cross-site writes.** A POST, PUT, PATCH or DELETE to /api/ that carries the session
  cookie (and no Authorization header) must come from this site: an `Origin` (or, without
  one, a `Referer`) of another origin is answered 403. Requests without the cookie (API
  tokens, guests) and without either header (scripts) pass; the pages have CSRF tokens.
  "This site" is the request's Host: a proxy in front must pass the Host the browser used.

`require_content_type`, mounted on the app beside the access guard, refuses a body whose
media type the route does not take (415): a JSON endpoint takes application/json (or
+json), an upload the types its OpenAPI `requestBody` declares (text/csv...).

Refusals are rendered by the app's own DomainError handler: problem+json for the API, an
error page for pages.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from paddock.accounts.principals import SESSION_COOKIE
from paddock.errors import DomainError, Forbidden, Invalid

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[Request, Exception], Awaitable[Response]]

# The endpoints that take a file, with how much of the upload limit each may use (the
# checked invitee file comes back to the page base64-encoded in a form field: 4/3 of it).
UPLOADS: dict[tuple[str, str], float] = {
    ("POST", "/api/v1/campaigns/{campaign_id}/invitees/import"): 1.0,
    ("POST", "/api/v1/sales/import"): 1.0,
    ("POST", "/api/v1/motorsport/seasons/import"): 1.0,
    ("POST", "/dealer/campaigns/{campaign_id}/import"): 1.0,
    ("POST", "/dealer/campaigns/{campaign_id}/import/commit"): 1.4,
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_COOKIE_NAME = SESSION_COOKIE.encode() + b"="
_JSON_NUL = b"\\u0000"
_FORM_NUL = b"%00"


class TooLarge(DomainError):
    status = 413
    code = "too-large"
    title = "Request too large"


class NulRefused(Invalid):
    code = "nul"
    title = "NUL character refused"


class CrossSite(Forbidden):
    code = "cross-site"
    title = "Cross-site request refused"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class EdgeRefusal(StarletteHTTPException):
    """A refusal raised from inside `receive`: an HTTPException, so that FastAPI's body
    reading passes it on (it turns other errors into a 400) to the handler below."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.status, error.detail)
        self.error = error


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 2**10:g} KiB"


def _too_large(limit: int, upload: bool) -> TooLarge:
    advice = "split the file" if upload else "send less"
    return TooLarge(
        f"The request body is larger than this endpoint takes ({_size(limit)}): {advice}."
    )


def _nul(where: str) -> NulRefused:
    return NulRefused(
        f"The request's {where} contains a NUL character (U+0000); no text Paddock keeps may "
        "contain one."
    )


@dataclass(frozen=True)
class _Upload:
    method: str
    regex: re.Pattern[str]
    limit: int


class EdgeGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max(max_upload_bytes, max_body_bytes)
        self._uploads: tuple[_Upload, ...] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path or _FORM_NUL in scope["query_string"]:
            where = "address" if "\x00" in path else "query string"
            await _answer(scope, receive, send, _nul(where))
            return
        headers: dict[bytes, bytes] = dict(scope["headers"])
        if scope["method"] in UNSAFE_METHODS and path.startswith("/api/"):
            refusal = _cross_site(headers, scope)
            if refusal is not None:
                await _answer(scope, receive, send, refusal)
                return
        declared = headers.get(b"content-length")
        if declared is None:
            if b"transfer-encoding" not in headers:
                await self.app(scope, receive, send)  # no body
                return
            length = -1
        else:
            length = int(declared) if declared.isdigit() else -1
            if length == 0:
                await self.app(scope, receive, send)
                return
        limit = self.max_body
        if length > limit:
            limit = self._limit_for(scope)
            if length > limit:
                await _answer(scope, receive, send, _too_large(limit, limit > self.max_body))
                return
        kind = headers.get(b"content-type", b"").lower()
        pattern = (
            _JSON_NUL
            if b"json" in kind
            else _FORM_NUL
            if kind.startswith(b"application/x-www-form-urlencoded")
            else None
        )
        # A CSV upload's reader refuses a NUL itself, naming the line (or the spreadsheet
        # the file really is): its answer says more than this one would.
        raw_nul = not kind.startswith(b"text/csv")
        guarded = _Guarded(self, scope, receive, send, limit, pattern, raw_nul)
        try:
            await self.app(scope, guarded.receive_checked, guarded.send_checked)
        except EdgeRefusal as exc:
            if guarded.started:
                raise
            await _answer(scope, receive, send, exc.error)

    def _limit_for(self, scope: Scope) -> int:
        """The upload limit when the request is for one of UPLOADS, else the body limit."""
        if self._uploads is None:
            self._uploads = _resolve_uploads(scope["app"], self.max_upload)
        method, path = scope["method"], scope["path"]
        for upload in self._uploads:
            if upload.method == method and upload.regex.match(path):
                return upload.limit
        return self.max_body


def _cross_site(headers: dict[bytes, bytes], scope: Scope) -> CrossSite | None:
    """A write carrying the session cookie (and no API token) from another site."""
    cookie = headers.get(b"cookie")
    if cookie is None or _COOKIE_NAME not in cookie or b"authorization" in headers:
        return None
    origin, referer = headers.get(b"origin"), headers.get(b"referer")
    if (origin is None and referer is None) or _same_site(
        origin, referer, scope, headers.get(b"host")
    ):
        return None
    seen = (origin or referer or b"").decode("latin-1")[:200]
    return CrossSite(
        f"This request carries a Paddock session cookie but was sent from another site "
        f"({seen}). A signed-in browser may change data only from Paddock's own pages; other "
        "programs send an API token and no cookie."
    )


class _Guarded:
    """One request's body, counted and scanned chunk by chunk as the endpoint reads it."""

    __slots__ = (
        "edge",
        "scope",
        "receive",
        "send",
        "limit",
        "pattern",
        "raw_nul",
        "seen",
        "tail",
        "refusal",
        "started",
        "replaced",
    )

    def __init__(
        self,
        edge: EdgeGuard,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        pattern: bytes | None,
        raw_nul: bool,
    ) -> None:
        self.edge, self.scope, self.receive, self.send = edge, scope, receive, send
        self.limit, self.pattern, self.raw_nul = limit, pattern, raw_nul
        self.seen = 0
        self.tail = b""  # the end of the last chunk: an escape may span two chunks
        self.refusal: DomainError | None = None
        self.started = self.replaced = False

    async def receive_checked(self) -> Message:
        message = await self.receive()
        body = message.get("body")
        if body and message["type"] == "http.request":
            error = self.check(body)
            if error is not None:
                self.refusal = error
                raise EdgeRefusal(error)
        return message

    async def send_checked(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            refusal = self.refusal
            if refusal is not None and message["status"] != refusal.status:
                # The refusal was caught on the way and answered otherwise: say what it was.
                self.replaced = True
                await _answer(self.scope, self.receive, self.send, refusal)
                return
        if not self.replaced:
            await self.send(message)

    def check(self, body: bytes) -> DomainError | None:
        self.seen += len(body)
        if self.seen > self.limit:
            if self.limit == self.edge.max_body:
                self.limit = self.edge._limit_for(self.scope)
            if self.seen > self.limit:
                return _too_large(self.limit, self.limit > self.edge.max_body)
        if self.raw_nul and b"\x00" in body:
            return _nul("body")
        pattern = self.pattern
        if pattern is not None:
            data = self.tail + body if self.tail else body
            if pattern in data and (pattern is _FORM_NUL or _escaped_nul(data, len(self.tail))):
                return _nul("body")
            self.tail = data[-64:]
        return None


def _escaped_nul(data: bytes, start: int) -> bool:
    r"""Whether `data` holds a JSON \u0000 escape (its backslash not itself escaped) that ends
    at or after `start` (what the last chunk already showed was checked then)."""
    at = data.find(_JSON_NUL)
    while at != -1:
        if at + len(_JSON_NUL) > start:
            run = at - len(data[:at].rstrip(b"\\"))  # backslashes before this one
            if run % 2 == 0 or (run == at and start > 0):  # (a run longer than the tail)
                return True
        at = data.find(_JSON_NUL, at + 1)
    return False


def _same_site(
    origin: bytes | None, referer: bytes | None, scope: Scope, host: bytes | None
) -> bool:
    """Whether the Origin (else the Referer) names this site: its host and port, and its
    scheme (https seen by the browser is fine for http behind a TLS proxy)."""
    if host is None:
        return False
    try:
        url = urlsplit((origin if origin is not None else referer or b"").decode("latin-1"))
    except ValueError:
        return False
    scheme = scope.get("scheme", "http")
    if url.scheme not in ("http", "https") or (url.scheme == "http" and scheme == "https"):
        return False
    return _netloc(url.netloc, url.scheme) == _netloc(host.decode("latin-1"), url.scheme)


def _netloc(netloc: str, scheme: str) -> str:
    netloc = netloc.lower().rsplit("@", 1)[-1]
    default = ":443" if scheme == "https" else ":80"
    return netloc.removesuffix(default)


def _resolve_uploads(app: FastAPI, max_upload: int) -> tuple[_Upload, ...]:
    """UPLOADS as regular expressions; every entry must name a route of the app."""
    present = {
        (method, str(context.path_format))
        for context in iter_route_contexts(app.router.routes)
        for method in context.methods or ()
    }
    missing = [f"{m} {p}" for (m, p) in UPLOADS if (m, p) not in present]
    if missing:
        raise RuntimeError(f"EdgeGuard: UPLOADS names no route: {', '.join(missing)}")
    return tuple(
        _Upload(method, compile_path(path)[0], int(max_upload * share))
        for (method, path), share in UPLOADS.items()
    )


async def _answer(scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
    request = Request(scope, receive)
    handler = request.app.exception_handlers[DomainError]
    response: Response = await handler(request, error)
    await response(scope, receive, send)


# Content types ------------------------------------------------------------------------------

JSON = ("application/json",)
_TYPES = "paddock_body_types"  # each route's accepted types, kept on the route itself


def accepted_types(route: Any) -> tuple[str, ...] | None:
    """The media types an API route's body may have; None when it reads no body (or is not
    under /api/: the pages read their own forms)."""
    if hasattr(route, _TYPES):
        known: tuple[str, ...] | None = getattr(route, _TYPES)
        return known
    kinds: tuple[str, ...] | None = None
    if isinstance(route, APIRoute) and route.path_format.startswith("/api/"):
        declared = ((route.openapi_extra or {}).get("requestBody") or {}).get("content")
        if declared:
            kinds = tuple(str(k).lower() for k in declared)
        elif route.body_field is not None:
            kinds = JSON
    if route is not None:
        setattr(route, _TYPES, kinds)
    return kinds


async def require_content_type(request: Request) -> None:
    """Mounted on the app: a body must be of a type its route takes (415 otherwise)."""
    kinds = accepted_types(request.scope.get("route"))
    if kinds is None:
        return
    headers = request.headers
    if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return  # no body: the route says whether it needs one
    sent = headers.get("content-type", "")
    kind = sent.partition(";")[0].strip().lower()
    if kind in kinds:
        return
    if "application/json" in kinds and kind.startswith("application/") and kind.endswith("+json"):
        return
    raise UnsupportedMediaType(
        f"This endpoint takes a body of type {' or '.join(kinds)}; this one was sent "
        + (f"as {sent[:100]!r}." if sent else "without a Content-Type.")
    )


def install_edge(app: FastAPI, *, max_body_bytes: int, max_upload_bytes: int) -> None:
    """The middleware (call after adding HotRoutes: it goes outside it) and the handler of
    refusals raised while an endpoint reads the body."""

    async def _refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EdgeRefusal)
        handler = request.app.exception_handlers[DomainError]
        response: Response = await handler(request, exc.error)
        return response

    app.add_exception_handler(EdgeRefusal, _refused)
    app.add_middleware(EdgeGuard, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes)
    http_handler: Handler | None = app.exception_handlers.get(StarletteHTTPException)  # type: ignore[assignment]

    async def _unreadable(request: Request, exc: Exception) -> Response:
        """FastAPI answers a JSON body that is not UTF-8 with a bare 'There was an error
        parsing the body' (400): say what it is, as invalid JSON (422) like any other."""
        if isinstance(exc.__cause__, UnicodeDecodeError):
            handler = request.app.exception_handlers[DomainError]
            error = Invalid("The request body is not valid JSON: it is not UTF-8 text.")
            response: Response = await handler(request, error)
            return response
        assert http_handler is not None  # paddock.http's, installed first
        response = await http_handler(request, exc)
        return response

    app.add_exception_handler(StarletteHTTPException, _unreadable)
