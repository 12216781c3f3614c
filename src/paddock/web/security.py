"""Security headers on every response and CSRF protection for every page form.

CSRF is a signed double submit: a random value lives in an HttpOnly cookie (`paddock_csrf`);
each page gets that value signed with itsdangerous (PADDOCK_SECRET_KEY, timestamped) as the
`csrf_token` form field and, for htmx, as the `X-CSRF-Token` header (hx-headers on <body>).
An unsafe request must carry a token whose signature is good, not too old, and whose value is
the cookie's. Another site can make the browser send the cookie but can neither read it nor
forge the signature.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from paddock.errors import Forbidden

CSRF_COOKIE = "paddock_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_MAX_AGE_SECONDS = 24 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# FastAPI's own API docs load Swagger UI with an inline script: they keep the other headers.
CSP_EXEMPT_PREFIXES = ("/docs", "/redoc")


class CsrfRejected(Forbidden):
    code = "csrf"
    title = "Form expired or not sent from Paddock"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="paddock.web.csrf")


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


def csrf_token(request: Request) -> str:
    """The signed token for forms on this page (a new cookie value is made when none is set;
    `render` then sends the cookie)."""
    cached = getattr(request.state, "csrf_signed", None)
    if isinstance(cached, str):
        return cached
    raw = request.cookies.get(CSRF_COOKIE, "")
    if not _looks_valid(raw):
        raw = secrets.token_urlsafe(32)
        request.state.csrf_new_cookie = raw
    signed = str(_serializer(_secret(request)).dumps(raw))
    request.state.csrf_signed = signed
    return signed


def new_csrf_cookie(request: Request) -> str | None:
    value = getattr(request.state, "csrf_new_cookie", None)
    return value if isinstance(value, str) else None


def _looks_valid(raw: str) -> bool:
    return 32 <= len(raw) <= 64 and all(c.isalnum() or c in "-_" for c in raw)


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose token is missing, forged, stale or for another cookie."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and _is_form(request):
        form: FormData = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent:
        raise CsrfRejected(
            "This form was sent without its security token. Reload the page and try again "
            "(cookies must be enabled)."
        )
    try:
        expected = _serializer(_secret(request)).loads(sent, max_age=CSRF_MAX_AGE_SECONDS)
    except BadSignature as exc:
        raise CsrfRejected(
            "This form has expired or did not come from this site. Reload the page and try again."
        ) from exc
    if not isinstance(expected, str) or not hmac.compare_digest(expected, cookie):
        raise CsrfRejected(
            "This form belongs to another browser session. Reload the page and try again."
        )


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith("application/x-www-form-urlencoded") or kind.startswith(
        "multipart/form-data"
    )


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response; the page-only ones (CSP, framing,
    no-store) to HTML. A pure ASGI middleware: it never buffers a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")

                def add(name: str, value: str) -> None:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))

                add("x-content-type-options", "nosniff")
                add("referrer-policy", "same-origin")
                if https:
                    add("strict-transport-security", "max-age=31536000; includeSubDomains")
                if content_type.startswith(b"text/html"):
                    if not path.startswith(CSP_EXEMPT_PREFIXES):
                        add("content-security-policy", CONTENT_SECURITY_POLICY)
                    add("x-frame-options", "DENY")
                    add("permissions-policy", PERMISSIONS_POLICY)
                    add("cross-origin-opener-policy", "same-origin")
                    # Pages carry personal data and one-time tokens: never keep them in a cache.
                    add("cache-control", "no-store")
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
