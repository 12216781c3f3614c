"""Page tests without a browser: the app in a TestClient on a migrated SQLite database with a
small world (tests.factories) whose slots start from today, and signed-in users per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.app import create_app
from paddock.db import make_engine, make_session_factory
from paddock.settings import Settings
from tests.factories import World, make_world

PASSWORD = "paddock-page-test-1"
SECRET = "page-test-secret-key-0123456789abcdef"
ZONE = ZoneInfo("America/New_York")
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def web_settings(sqlite_url: str) -> Settings:
    return Settings(database_url=sqlite_url, environment="test", secret_key=SECRET)


@pytest.fixture
def db(web_settings: Settings) -> Iterator[Session]:
    engine = make_engine(web_settings.database_url, pool_size=2)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def world(db: Session) -> World:
    # Open around the clock, so a booking can be checked in whatever the hour the suite runs.
    return make_world(db, cars=2, coaches=2, opening=("00:00", "00:00"))


@pytest.fixture
def web(web_settings: Settings, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, sweeper=False), follow_redirects=False) as client:
        client.headers["accept"] = "text/html"
        yield client


def tomorrow() -> date:
    return (datetime.now(UTC).astimezone(ZONE) + timedelta(days=1)).date()


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZONE).replace(hour=hh, minute=mm)


def next_start(after: timedelta = timedelta(minutes=30)) -> datetime:
    """The first half-hour start at least `after` from now (the test site's grid)."""
    moment = datetime.now(UTC) + after
    return moment.replace(minute=0 if moment.minute < 30 else 30, second=0, microsecond=0) + (
        timedelta(minutes=30)
    )


def csrf_from(client: TestClient, path: str = "/login") -> str:
    """Open a page (which sets the CSRF cookie) and read the form token from it."""
    page = client.get(path)
    found = CSRF_INPUT.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


SignIn = Callable[[str], None]


@pytest.fixture
def sign_in(web: TestClient, db: Session) -> SignIn:
    made: set[str] = set()

    def as_role(role: str) -> None:
        email = f"{role}@example.com"
        if email not in made:
            accounts.create_user(db, email=email, role=role, password=PASSWORD, name=role.title())
            made.add(email)
        token = csrf_from(web, "/login")
        response = web.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303, response.text

    return as_role
