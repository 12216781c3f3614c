"""Jinja2 rendering for pages: one environment, the common context, full pages or htmx parts.

    return render(request, "guest/calendar.html", {"product": p}, partial="guest/_month.html")

renders `partial` alone for an htmx request and the full page otherwise, so every page works
with and without JavaScript. Every template sees `request`, `csrf_token`, `messages` (flash),
`user` (or None), `nav` (links the user may follow) and the `asset()` helper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from paddock.catalog.policy import policy_of
from paddock.money import from_minor
from paddock.web import flash as flashes
from paddock.web.assets import asset, plotly_inline_styles
from paddock.web.security import CSRF_COOKIE, CSRF_FIELD, csrf_token, new_csrf_cookie

# What RedirectResponse leaves as it is in a Location; anything else is percent-encoded.
URL_SAFE = ":/%#?=@[]!$&'()*+,;"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[str]  # who sees it; empty: everybody


# The signed-in areas, in menu order. Add a line here when you add an area.
NAV: list[NavItem] = [
    NavItem("Operations", "/ops", frozenset({"admin", "operations", "coach"})),
    NavItem("Dashboard", "/dashboard", frozenset({"admin", "operations"})),
    NavItem("Dealer portal", "/dealer", frozenset({"admin", "dealer"})),
    NavItem("Motorsport", "/motorsport", frozenset({"admin", "motorsport"})),
    NavItem("Admin", "/admin", frozenset({"admin"})),
]


def _money(cents: int, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    amount = from_minor(cents, currency)
    whole = amount == amount.to_integral_value()
    return symbol + (f"{amount:,.0f}" if whole else f"{amount:,}")  # $149, $149.50


def _local(moment: datetime | None, zone: str, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


def _day(value: date, fmt: str = "%A %-d %B %Y") -> str:
    return value.strftime(fmt)


def _minutes(value: int) -> str:
    hours, minutes = divmod(int(value), 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def _make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["asset"] = asset
    env.globals["plotly_style_ids"] = lambda: list(plotly_inline_styles())
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.filters["money"] = _money
    env.filters["local"] = _local
    env.filters["day"] = _day
    env.filters["minutes"] = _minutes
    env.filters["cancellation_policy"] = lambda product: policy_of(product).summary()
    return env


environment = _make_environment()


def is_htmx(request: Request) -> bool:
    """An htmx request for a part of a page (a boosted link or a history restore wants the
    whole page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def current_user(request: Request) -> Any:
    return getattr(request.state, "user", None)


def nav_for(user: Any) -> list[NavItem]:
    role = getattr(user, "role", None)
    return [item for item in NAV if not item.roles or (role is not None and role in item.roles)]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    messages = flashes.take(request)
    user = current_user(request)
    values: dict[str, Any] = {
        "request": request,
        "csrf_token": csrf_token(request),
        "messages": messages,
        "user": user,
        "nav": nav_for(user),
        "htmx": is_htmx(request),
    }
    values.update(context or {})
    name = partial if partial and is_htmx(request) else template
    body = environment.get_template(name).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
    if partial:
        response.headers["Vary"] = "HX-Request"
    flashes.store(request, response, [])
    _send_csrf_cookie(request, response)
    return response


def see_other(request: Request, url: str) -> Response:
    """Redirect after a form post (303), carrying pending flash messages. For an htmx request
    the browser is told to load the page itself (HX-Redirect), not to swap it in."""
    response: Response
    if request.headers.get("hx-request") == "true":
        # Percent-encoded as RedirectResponse does for Location: a header never carries CR/LF.
        response = Response(status_code=204, headers={"HX-Redirect": quote(url, safe=URL_SAFE)})
    else:
        response = RedirectResponse(url, status_code=303)
    flashes.store(request, response, flashes.take(request))
    return response


def _send_csrf_cookie(request: Request, response: Response) -> None:
    value = new_csrf_cookie(request)
    if value:
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
