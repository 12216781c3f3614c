"""Invitation codes (issue 11, finding 7): unknown codes tried from one address are counted for
every worker in the database, on the API and on the guest pages alike; the answer past the
limit is 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.app import create_app
from paddock.dealers import service
from paddock.dealers.guessing import CODE_GUESSES
from paddock.settings import Settings
from tests.dealers.conftest import STAFF, make_dealer_world

REAL = "REAL-CODE-K47"


@pytest.fixture
def real_code(session: Session) -> str:
    dw = make_dealer_world(session)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code=REAL)
    return REAL


@pytest.fixture
def two_apps(settings: Settings) -> Iterator[tuple[TestClient, TestClient]]:
    """Two server processes on one database, and one client address calling both."""
    one = TestClient(create_app(settings, sweeper=False), client=("203.0.113.9", 1))
    two = TestClient(create_app(settings, sweeper=False), client=("203.0.113.9", 2))
    with one, two:
        one.headers["accept"] = two.headers["accept"] = "text/html"
        yield one, two


def test_guesses_through_the_page_are_throttled(
    two_apps: tuple[TestClient, TestClient], real_code: str
) -> None:
    web, _ = two_apps
    for n in range(CODE_GUESSES):
        assert web.get(f"/invite/GUESS-{n:04d}").status_code == 404
    page = web.get(f"/invite/{real_code}")
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert 0 < int(page.headers["retry-after"]) <= 300
    assert "Too many unknown invitation codes" in page.text
    # The booking pages of an invitation are behind the same count.
    booking_page = web.get(f"/invite/{real_code}/book/drive")
    assert booking_page.status_code == 429 and booking_page.headers["retry-after"]


def test_api_and_pages_of_two_workers_share_one_count(
    two_apps: tuple[TestClient, TestClient], real_code: str
) -> None:
    one, two = two_apps
    for n in range(CODE_GUESSES):
        caller, path = (one, "/invite") if n % 2 else (two, "/api/v1/invitations")
        assert caller.get(f"{path}/GUESS-{n:04d}").status_code == 404
    for caller in (one, two):
        answer = caller.get(f"/api/v1/invitations/{real_code}", headers={"accept": "*/*"})
        assert answer.status_code == 429
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == str(answer.json()["retry_after"])
        assert int(answer.headers["retry-after"]) > 0


def test_x_forwarded_for_does_not_reset_the_count(client: TestClient, real_code: str) -> None:
    for n in range(CODE_GUESSES):
        spoofed = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert client.get(f"/api/v1/invitations/GUESS-{n:04d}", headers=spoofed).status_code == 404
    assert client.get(f"/api/v1/invitations/{real_code}").status_code == 429


def test_known_codes_do_not_count(client: TestClient, real_code: str) -> None:
    for _ in range(CODE_GUESSES + 5):
        assert client.get(f"/api/v1/invitations/{real_code}").status_code == 200
    assert client.get("/api/v1/invitations/GUESS-0001").status_code == 404
