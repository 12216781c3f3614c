"""Dealer test worlds: the small booking world plus two dealers, a campaign and codes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.service import Scope
from paddock.dealers import service
from paddock.dealers.models import Campaign, Dealer
from tests.factories import MONDAY, World, make_world


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 at test strength (the real parameters cost ~150 ms per hash)."""
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


STAFF = Scope.everything("test")


@dataclass
class DealerWorld:
    world: World
    north: Dealer
    south: Dealer
    campaign: Campaign  # north's, for "drive", MONDAY .. MONDAY + 30


def make_dealer_world(
    session: Session, *, places: int = 4, cars: int = 4, coaches: int = 4, positions: int = 8
) -> DealerWorld:
    world = make_world(session, cars=cars, coaches=coaches, positions=positions)
    north = service.create_dealer(
        session,
        code="D-NYC-001",
        name="Hudson Motors",
        city="New York",
        state="NY",
        region="Northeast",
        home_site="TST",
        monthly_allotment=places,
    )
    south = service.create_dealer(
        session,
        code="D-ATL-002",
        name="Peach State Cars",
        city="Atlanta",
        state="GA",
        region="Southeast",
        home_site="TST",
        monthly_allotment=places,
    )
    campaign = service.create_campaign(
        session,
        scope=STAFF,
        dealer_code=north.code,
        name="Summer drive",
        products=["drive"],
        drive_from=MONDAY,
        drive_to=MONDAY.replace(day=30),
    )
    return DealerWorld(world, north, south, campaign)


def scope_of(dealer: Dealer) -> Scope:
    return Scope(dealer.id, f"test:{dealer.code}")
