"""The dashboard's year one from the site's opening day, against the site's own targets, with
no verdict before any data, and the motorsport site in no picker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.capacity.models import Site, SiteKind
from tests.factories import World
from tests.web.conftest import ZONE, SignIn


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


def test_year_one_from_the_opening_day_without_data(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    opened = (datetime.now(UTC).astimezone(ZONE) - timedelta(days=10)).date()
    site = db.get(Site, world.site.id)
    assert site is not None
    site.opens_on, site.drivers_target, site.dealer_share_target_bp = opened, 12_000, 1200
    db.add(Site(code="MSP", name="Motorsport", time_zone="UTC", kind=SiteKind.MOTORSPORT))
    db.commit()
    sign_in("admin")
    page = web.get("/dashboard?site=TST")
    assert page.status_code == 200
    text = page.text
    assert "Will we reach 12,000 drivers and 12 % via dealers?" in text
    assert f"Year 1 (from {opened:%-d %b %Y})" in text
    assert "No data yet" in text and "On track" not in text and "Behind the target" not in text
    assert 'value="MSP"' not in text  # the motorsport site is no experience centre
    refused = web.get("/dashboard?site=TST&year=2015")
    assert refused.status_code == 422 and f"from {opened.year}" in refused.text
