"""The booking path's shape (issue 12): a frozen request built once, a pure draft over an
explicit snapshot of the caches, one store per database chosen once per engine, and
booking_create() called with named parameters. The behaviour itself is tested end to end in
test_lifecycle.py, test_races.py and test_api.py."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import paddock
from paddock.bookings import drafts, postgres
from paddock.bookings.drafts import BookingRequest, BookingSnapshot, Guest
from paddock.bookings.models import Booking
from paddock.bookings.store import PostgresStore, SqliteStore, store
from paddock.capacity.engine import Demand
from paddock.capacity.takers import PostgresTaker, SqliteTaker, taker
from paddock.capacity.units import SiteClock, StaticUnits
from paddock.catalog import service as catalog
from paddock.catalog.service import ProductPlan
from paddock.errors import Invalid
from tests.factories import MONDAY, at, make_world

PACKAGE = Path(paddock.__file__).parent
ZONE = ZoneInfo("Europe/London")
NOW = datetime(2031, 6, 2, 6, tzinfo=UTC)  # a Monday, 07:00 in London
CARS = Demand(7, "car", "Cars", 1, timedelta(0), timedelta(minutes=60))
COACHES = Demand(8, "coach", "Coaches", 1, timedelta(minutes=15), timedelta(minutes=30))


def snapshot(*, public: bool = True) -> BookingSnapshot:
    """A product of one car and one coach at a site open 08:00-18:00 every day, by hand."""
    plan = ProductPlan(
        product_id=3,
        code="drive",
        name="Drive",
        site_id=1,
        site_code="atl",
        time_zone=str(ZONE),
        duration=timedelta(minutes=60),
        step=timedelta(minutes=30),
        price_cents=9900,
        currency="EUR",
        public=public,
        demands=(CARS, COACHES),
        pool_ids=(7, 8),
    )
    site = SiteClock(1, ZONE, {d: [(time(8), time(18))] for d in range(7)})
    units = StaticUnits(
        members={},
        shifts={},
        loaded_at=0.0,
        patterns=(None,),
        ranked={7: (((1, 0), (2, 0)),), 8: (((5, 0),),)},
        labels={1: "Car 1", 2: "Car 2", 5: "Coach 5"},
    )
    return BookingSnapshot(plan, site, units)


def request(**changes: object) -> BookingRequest:
    base = BookingRequest(
        product_code="drive",
        starts_at=datetime(2031, 6, 2, 9, tzinfo=UTC),  # 10:00 in London
        guest=Guest("Ann Lee", "ann@example.com"),
        idempotency_key="k-1",
        channel="api",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_the_request_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        request().hold = True  # type: ignore[misc]


def test_a_draft_is_made_from_the_snapshot_alone() -> None:
    """No session, no cache: the rows, the audit entry and the claims, best first."""
    made = drafts.draft(request(hold=True, hold_minutes=15), snapshot(), NOW)
    assert made.values["status"] == "held"
    assert made.values["hold_expires_at"] == NOW + timedelta(minutes=15)
    assert made.values["ends_at"] == datetime(2031, 6, 2, 10, tzinfo=UTC)
    assert (made.values["price_cents"], made.values["currency"]) == (9900, "EUR")
    assert made.audit["action"] == "held" and made.audit["data"]["channel"] == "api"
    # The scarcest demand first: one coach, then two cars in a random order.
    assert [c.demand.pool_id for c in made.chosen.items] == [8, 7]
    assert made.chosen.items[0].candidates == (5,)
    assert sorted(made.chosen.items[1].candidates) == [1, 2]
    assert made.fingerprint == drafts.draft(request(hold=True), snapshot(), NOW).fingerprint


def test_extra_demands_are_claimed_with_the_products() -> None:
    extra = Demand(8, "coach", "Coaches", 1, timedelta(minutes=-30), timedelta(minutes=30))
    made = drafts.draft(request(extra_demands=(extra,)), snapshot(), NOW)
    assert len(made.chosen.items) == 3


@pytest.mark.parametrize(
    ("changes", "public", "refusal"),
    [
        ({"starts_at": NOW - timedelta(minutes=30)}, True, "already passed"),
        ({"starts_at": datetime(2031, 6, 2, 9, 10, tzinfo=UTC)}, True, "not a start time"),
        ({"starts_at": datetime(2031, 6, 2, 17, 30, tzinfo=UTC)}, True, "not a start time"),
        ({"public_only": True}, False, "not open for online booking"),
    ],
)
def test_the_draft_refuses_what_the_snapshot_rules_out(
    changes: dict[str, object], public: bool, refusal: str
) -> None:
    with pytest.raises(Invalid, match=refusal):
        drafts.draft(request(**changes), snapshot(public=public), NOW)


def test_the_snapshot_is_read_once_then_served_from_the_caches(session: Session) -> None:
    make_world(session)
    session.commit()
    catalog.invalidate_cache()
    wanted = request(starts_at=at(MONDAY, 10), idempotency_key=None)
    assert drafts.cached_snapshot(wanted) is None  # cold: the endpoint reads it off its loop
    read = drafts.snapshot(session, wanted)
    cached = drafts.cached_snapshot(wanted)
    assert cached == read
    assert cached.units.labels  # the pools' units came with it


def test_one_store_and_one_taker_per_database_chosen_once_per_engine(
    session: Session, database_url: str
) -> None:
    on_postgres = database_url.startswith("postgresql")
    assert type(store(session)) is (PostgresStore if on_postgres else SqliteStore)
    assert type(taker(session)) is (PostgresTaker if on_postgres else SqliteTaker)
    assert store(session) is store(session.get_bind())
    assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_booking_create_is_called_with_its_own_parameter_names() -> None:
    """Named notation: each argument goes to the parameter of that name, whatever the
    function's order, and every parameter is given."""
    sql = (PACKAGE / "bookings" / "sql" / "booking_create.sql").read_text()
    signature = sql[sql.index("(") + 1 : sql.index(") RETURNS")]
    declared = re.findall(r"\b(p_\w+)\s", signature)
    assert sorted(name for name, _, _ in postgres.PARAMETERS) == sorted(declared)
    assert len(declared) == 28
    for name, _, key in postgres.PARAMETERS:
        assert f"{name} => %({key})s::" in postgres.BOOKING_CREATE
    made = drafts.draft(request(), snapshot(), NOW)
    given = postgres.arguments(made, audited=True, careful=False)
    assert {key for _, _, key in postgres.PARAMETERS} <= set(given)
    assert given["ref"] == made.values["ref"]
    assert given["audit_actor"] == "guest" and given["careful"] is False


BOOKING_PATH = [
    "bookings/service.py",
    "bookings/drafts.py",
    "bookings/on_loop.py",
    "bookings/api.py",
    "bookings/results.py",
    "bookings/lifecycle.py",
    "capacity/claims.py",
    "capacity/units.py",
    "capacity/engine.py",
    "capacity/service.py",
    "catalog/service.py",
    "hot_routes.py",
]


def test_the_booking_path_asks_no_database_which_it_is_and_reads_no_optional_session() -> None:
    """The stores (bookings/store.py, capacity/takers.py) are chosen once per engine; no step
    of the path branches on the dialect, and no signature takes `Session | None`."""
    for module in BOOKING_PATH:
        text = (PACKAGE / module).read_text()
        assert "dialect" not in text, module
        assert "Session | None" not in text, module
