"""The management dashboard through the TestClient: who may open it, what it shows for a
small world (the KPIs, the charts' data blocks, the heat map by pool and hour, the funnel and
the leaderboard), its site and year choices and their errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.service import Scope
from paddock.bookings import service as bookings
from paddock.dealers import service as dealers
from tests.factories import World
from tests.web.conftest import ZONE, SignIn

DATA_BLOCK = re.compile(r'<script type="application/json" id="([a-z]+)-data">(.*?)</script>', re.S)


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@pytest.fixture
def history(db: Session, world: World) -> int:
    """Two drives driven two days ago and a no-show, and a dealer's invitee. Returns the
    year they fall in (New York time, like the KPIs), to ask the dashboard for."""
    now = datetime.now(UTC)
    dealers.create_dealer(
        db,
        code="D-NYC-001",
        name="Hudson Motors",
        city="New York",
        state="NY",
        region="Northeast",
        home_site="TST",
    )
    # Two days back: inside the heat map's whole UTC days, whatever the hour the suite runs.
    start = (now - timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    made = []
    for n, (offset, outcome) in enumerate(((0, "completed"), (2, "completed"), (4, "no_show"))):
        at = start + timedelta(hours=offset)
        result = bookings.create_booking(
            db,
            product_code="drive",
            starts_at=at,
            guest=bookings.Guest(f"Guest {n}", f"guest{n}@example.com"),
            now=at - timedelta(days=2),
        )
        ref = result.booking.ref
        if outcome == "completed":
            bookings.check_in(db, ref=ref, now=at - timedelta(minutes=10))
            bookings.complete(db, ref=ref, now=at + timedelta(minutes=95))
        else:
            bookings.mark_no_show(db, ref=ref, now=at + timedelta(minutes=30))
        made.append(ref)
    campaign = dealers.create_campaign(
        db,
        scope=Scope.everything("test"),
        dealer_code="D-NYC-001",
        name="Invites",
        products=["drive"],
        drive_from=now.date(),
        drive_to=now.date() + timedelta(days=30),
    )
    dealers.add_invitee(
        db, scope=Scope.everything("test"), campaign_id=campaign.id, name="Ann", email="a@e.com"
    )
    return start.astimezone(ZONE).year


@pytest.mark.parametrize("role", ["coach", "motorsport"])
def test_other_roles_are_refused(web: TestClient, sign_in: SignIn, role: str) -> None:
    sign_in(role)
    response = web.get("/dashboard")
    assert response.status_code == 403
    assert "centre admins and operations staff" in response.text


def test_signed_out_visitors_are_sent_to_sign_in(web: TestClient) -> None:
    response = web.get("/dashboard?site=TST")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard%3Fsite%3DTST"


@pytest.mark.parametrize("role", ["admin", "operations"])
def test_management_opens_the_dashboard(
    web: TestClient, sign_in: SignIn, history: int, role: str
) -> None:
    sign_in(role)
    page = web.get(f"/dashboard?year={history}")
    assert page.status_code == 200
    text = page.text
    assert "Will we reach 20,000 drivers" in text and "of the 20,000 target" in text
    assert 'aria-current="page">Dashboard' in text
    # No executable inline script: the figures travel as JSON data blocks.
    assert re.search(r"<script(?![^>]*\b(?:src|type=\"application/json\"))", text) is None
    blocks = {name: json.loads(body) for name, body in DATA_BLOCK.findall(text)}
    assert set(blocks) == {"drivers", "rates", "heatmap", "funnel"}
    drivers = blocks["drivers"]["data"]
    assert sum(drivers[0]["y"]) == 2  # two drivers this year, per month
    assert drivers[-1]["y"] == [20_000, 20_000]  # the target line
    heat = blocks["heatmap"]["data"][0]
    assert heat["type"] == "heatmap" and "Cars" in heat["y"] and heat["showscale"] is False
    assert any(v for row in heat["z"] for v in row if v)  # the drives' hours are busy
    funnel = blocks["funnel"]["data"][0]
    assert funnel["x"] == [1, 0, 0, 0]  # one person invited, nobody booked yet
    assert "1 of 3 guests expected did not come" in text  # no-shows: one of three
    # The leaderboard is empty: no dealer brought a guest.
    assert "No dealer has brought a guest this year yet." in text


def test_site_and_year_choices(web: TestClient, sign_in: SignIn, history: int) -> None:
    sign_in("operations")
    assert web.get("/dashboard?site=tst").status_code == 200
    missing = web.get("/dashboard?site=XYZ")
    assert missing.status_code == 404 and "No site with code" in missing.text
    year = datetime.now(UTC).year
    past = web.get(f"/dashboard?year={year - 1}")
    assert past.status_code == 200 and f"All sites · {year - 1}" in past.text
    assert web.get("/dashboard?year=1990").status_code == 422
    assert web.get("/dashboard?year=soon").status_code in (400, 422)
