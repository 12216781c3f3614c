"""Flash messages: one-time notices carried to the next page in a signed cookie.

`flash(request, "Booking cancelled.", "success")` then either `render(...)` (shown on this
page) or `see_other(...)` (shown on the page redirected to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

FLASH_COOKIE = "paddock_flash"
MAX_MESSAGES = 5
Level = Literal["info", "success", "warning", "error"]
LEVELS: tuple[str, ...] = ("info", "success", "warning", "error")


@dataclass(frozen=True)
class Message:
    level: str
    text: str


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(str(request.app.state.settings.secret_key), salt="paddock.web.flash")


def flash(request: Request, text: str, level: Level = "info") -> None:
    pending: list[Message] = getattr(request.state, "flash_out", [])
    pending.append(Message(level, text))
    request.state.flash_out = pending


def pending(request: Request) -> list[Message]:
    out: list[Message] = getattr(request.state, "flash_out", [])
    return out


def take(request: Request) -> list[Message]:
    """Messages from the cookie (set by the previous response) and from this request."""
    carried: list[Message] = []
    raw = request.cookies.get(FLASH_COOKIE)
    if raw:
        try:
            data = _serializer(request).loads(raw)
        except BadSignature:
            data = []
        if isinstance(data, list):
            carried = [
                Message(str(item[0]), str(item[1]))
                for item in data
                if isinstance(item, list) and len(item) == 2 and item[0] in LEVELS
            ]
    return (carried + pending(request))[-MAX_MESSAGES:]


def store(request: Request, response: Response, messages: list[Message]) -> None:
    """Carry messages to the next page (or clear a consumed cookie)."""
    secure = request.url.scheme == "https"
    if messages:
        value = _serializer(request).dumps([[m.level, m.text] for m in messages[-MAX_MESSAGES:]])
        response.set_cookie(
            FLASH_COOKIE, value, max_age=300, httponly=True, samesite="lax", secure=secure
        )
    elif FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, httponly=True, samesite="lax", secure=secure)
