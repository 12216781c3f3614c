"""The guest pages' throttles answer as pages: a hold past the bookings per address, and codes
typed on the details page past the guesses per address, are 429 pages with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from paddock.app import create_app
from paddock.dealers.guessing import CODE_GUESSES
from paddock.settings import Settings
from tests.factories import World
from tests.web.conftest import csrf_from, tomorrow
from tests.web.test_guest_pages import STARTS, confirm, hold


@pytest.fixture
def one_booking_a_minute(web_settings: Settings, world: World) -> Iterator[TestClient]:
    limited = web_settings.model_copy(update={"bookings_per_address_per_minute": 1})
    with TestClient(create_app(limited, sweeper=False), follow_redirects=False) as client:
        client.headers["accept"] = "text/html"
        yield client


def test_a_hold_past_the_limit_is_a_429_page(one_booking_a_minute: TestClient) -> None:
    web = one_booking_a_minute
    hold(web)
    page = web.get(f"/book/drive?day={tomorrow().isoformat()}")
    refused = web.post(
        "/book/drive/hold",
        data={"starts_at": STARTS.findall(page.text)[1], "csrf_token": csrf_from(web)},
    )
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert "Too many bookings from your address" in refused.text


def test_codes_typed_on_the_details_page_count_as_guesses(web: TestClient) -> None:
    link = hold(web)
    for n in range(CODE_GUESSES):
        wrong = confirm(web, link, code=f"GUESS-{n:04d}")
        assert wrong.status_code == 422, wrong.text  # type: ignore[attr-defined]
    refused = confirm(web, link, code="GUESS-9999")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert int(refused.headers["retry-after"]) > 0  # type: ignore[attr-defined]
