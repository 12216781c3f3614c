"""Browser tests: a real server (uvicorn in a thread) on a migrated SQLite database holding the
demo world, driven by Playwright with Debian's Chromium (/usr/bin/chromium, headless).

Each test gets `page`; `shot(page, "name")` saves a screenshot under
test-artifacts/screenshots/ (PADDOCK_ARTIFACTS overrides the folder), and one more is taken
when the test ends. Console errors fail the test: a script or style the Content-Security-Policy
blocked shows up there first.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import plotly.graph_objects as go
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from paddock.accounts import service as accounts
from paddock.app import create_app
from paddock.bookings import service as bookings
from paddock.catalog import service as catalog_service
from paddock.db import make_engine, make_session_factory
from paddock.demo import loader
from paddock.settings import Settings
from paddock.web.charts import figure_json
from paddock.web.deps import SignedInPage, page_router
from paddock.web.rendering import environment
from paddock.web.security import csrf_token
from tests.factories import make_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("PADDOCK_ARTIFACTS", ROOT / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
PASSWORD = "paddock-browser-test-1"


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    settings: Settings
    app: FastAPI
    # A booking at the always-open test site that can be checked in right now, and its day
    # there (the site keeps UTC: from 00:00 UTC that is already tomorrow in Atlanta's terms).
    arriving_ref: str
    arriving_day: date

    def session(self):  # type: ignore[no-untyped-def]
        engine = make_engine(self.database_url, pool_size=1)
        return make_session_factory(engine)()


# A page used only by the tests: a Plotly chart rendered through the chart() macro, to prove
# the locally served bundle draws under the strict Content-Security-Policy.
chart_demo_router = page_router()
CHART_PAGE = """{% extends "base.html" %}
{% from "_charts.html" import chart_assets, chart with context %}
{% block head %}{{ chart_assets() }}{% endblock %}
{% block content %}<h1>Chart</h1>{{ chart("demo", figure, "Drivers per month") }}{% endblock %}"""


@chart_demo_router.get("/__test/chart")
def chart_demo(request: Request, user: SignedInPage) -> HTMLResponse:
    figure = go.Figure(go.Bar(x=["Jan", "Feb", "Mar"], y=[1200, 1500, 1710], name="Drivers"))
    figure.update_layout(title="Drivers per month")
    body = environment.from_string(CHART_PAGE).render(
        request=request,
        csrf_token=csrf_token(request),
        messages=[],
        user=None,
        nav=[],
        htmx=False,
        figure=figure_json(figure),
    )
    return HTMLResponse(body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(database_url: str) -> tuple[str, date]:
    engine = make_engine(database_url, pool_size=2)
    with make_session_factory(engine)() as session:
        loader.load(session, days_back=2, days_ahead=21)
        # A site open around the clock, so a guest can be checked in whatever the hour.
        make_world(session, cars=4, coaches=4, opening=("00:00", "23:55"), time_zone="UTC")
        for email, role in (("ops@example.com", "operations"), ("coach@example.com", "coach")):
            accounts.create_user(
                session, email=email, role=role, password=PASSWORD, name=role.title() + " Tester"
            )
        # The dealer portal, dashboard and motorsport planner (tests/browser/test_reports.py).
        for email, role, dealer in (
            ("dealer@example.com", "dealer", "D-ATL-001"),
            ("motorsport@example.com", "motorsport", None),
            ("admin@example.com", "admin", None),
        ):
            accounts.create_user(
                session, email=email, role=role, password=PASSWORD, dealer_code=dealer
            )
        now = datetime.now(UTC)
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if start + timedelta(minutes=90) > start.replace(hour=23, minute=55):
            # The 90-minute drive must end by the site's 23:55 close: after 22:00 UTC, book
            # the next midnight, still within check-in's three hours ahead.
            start = start.replace(hour=0) + timedelta(days=1)
        arriving = bookings.create_booking(
            session,
            product_code="drive",
            starts_at=start,
            guest=bookings.Guest("Grace Arriving", "grace@example.com", "+1 404 555 0100"),
            channel="web",
        )
        ref = arriving.booking.ref
    engine.dispose()
    catalog_service.invalidate_cache()
    return ref, start.date()


@pytest.fixture(scope="session")
def live_server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser-db")
    path = folder / "paddock.db"
    shutil.copy(sqlite_template, path)
    database_url = f"sqlite:///{path}"
    ref, arriving_day = _seed(database_url)
    settings = Settings(
        database_url=database_url,
        environment="test",
        secret_key="browser-test-secret-key-0123456789",
        hold_minutes=10,
    )
    app = create_app(settings, sweeper=False)
    app.include_router(chart_demo_router)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="paddock-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", database_url, settings, app, ref, arriving_day)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


Shot = Callable[[Page, str], Path]


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """`shot(page, "calendar")` saves test-artifacts/screenshots/<test>--calendar.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}--{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def page(
    browser: Browser, request: pytest.FixtureRequest, live_server: LiveServer
) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A page answered 4xx on purpose (a form refused) is logged as a failed load: that
        # is not a fault; a sub-resource that failed is caught by on_response below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            where = message.location
            problems.append(f"{message.text} (at {where.get('url')}:{where.get('lineNumber')})")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} for {response.url}")

    opened.on("console", on_console)
    opened.on("response", on_response)
    opened.on("pageerror", lambda exc: problems.append(str(exc)))
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not problems, f"browser console errors: {problems}"


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
