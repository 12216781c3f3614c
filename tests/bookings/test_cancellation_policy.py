"""A product's cancellation policy: shown with the product, free online until its deadline,
refused after it through the guest's manage link (409 problem+json saying when it ended and
whom to call), never binding operations (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.bookings import guest
from paddock.bookings import service as bookings
from paddock.capacity.models import Site
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.catalog.policy import policy_of, set_policy
from paddock.errors import Invalid
from paddock.settings import get_settings
from tests.auth import sign_in, sign_out
from tests.factories import MONDAY, at, make_world

PHONE = "+1 404-555-0134"


def _world(session: Session) -> None:
    world = make_world(session, opening=("00:00", "00:00"))  # open around the clock
    world.site.phone = PHONE
    session.commit()
    set_policy(session, product_code="drive", free_hours=48, late_fee=Decimal("150"), actor="t")
    catalog.invalidate_cache()


def _soon() -> datetime:
    """A start a few hours from now: inside the 48-hour deadline."""
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)


def _book(client: TestClient, start: datetime) -> dict[str, str]:
    made = client.post(
        "/api/v1/bookings",
        json={
            "product": "drive",
            "starts_at": start.isoformat(),
            "guest": {"name": "Ann Lee", "email": "ann@example.com"},
        },
    )
    assert made.status_code == 201, made.text
    body: dict[str, str] = made.json()
    return body


def test_the_policy_is_part_of_the_product(client: TestClient, session: Session) -> None:
    _world(session)
    shown = client.get("/api/v1/products/drive").json()["cancellation"]
    assert shown["free_cancel_hours"] == 48
    assert (shown["late_fee"], shown["currency"]) == ("150.00", "USD")
    assert shown["summary"] == (
        "Free cancellation up to 2 days before the start. After that, cancellations are by "
        f"phone on {PHONE} and $150.00 is charged."
    )
    sim = client.get("/api/v1/products/sim").json()["cancellation"]
    assert sim["free_cancel_hours"] == 0 and sim["late_fee"] == "35.00"  # the whole price


def test_a_guest_cancels_free_before_the_deadline(client: TestClient, session: Session) -> None:
    _world(session)
    made = _book(client, at(MONDAY, 10))  # years ahead
    done = client.post(f"/api/v1/manage/{made['manage_token']}/cancel", json={"reason": "Ill"})
    assert done.status_code == 200 and done.json()["status"] == "cancelled"


def test_past_the_deadline_guests_are_refused_and_operations_are_not(
    client: TestClient, session: Session
) -> None:
    _world(session)
    made = _book(client, _soon())
    refused = client.post(f"/api/v1/manage/{made['manage_token']}/cancel")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/problems/cancellation-closed")
    assert problem["title"] == "Too late to cancel online"
    assert "cannot be cancelled online" in problem["detail"]
    assert PHONE in problem["detail"] and "$150.00" in problem["detail"]
    assert problem["phone"] == PHONE
    deadline = datetime.fromisoformat(problem["deadline"])
    assert deadline == _soon() - timedelta(hours=48) or deadline < datetime.now(UTC)
    still = client.get(f"/api/v1/manage/{made['manage_token']}").json()
    assert still["status"] == "confirmed"  # nothing written
    sign_in(client, session, "operations")
    staff = client.post(
        f"/api/v1/bookings/{made['ref']}/cancel", json={"reason": "Guest phoned: flu"}
    )
    assert staff.status_code == 200 and staff.json()["status"] == "cancelled"
    sign_out(client)


def test_a_hold_can_always_be_given_back(session: Session) -> None:
    _world(session)

    held = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=_soon(),
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
        hold=True,
    )
    token = held.booking.manage_token
    assert guest.cancel(session, token=token).status == "cancelled"


def test_the_policy_wording_and_its_checks() -> None:
    product = Product(
        code="x", price_cents=60000, currency="USD", free_cancel_hours=24, late_cancel_fee_cents=0
    )
    product.site = Site(code="S", name="S", time_zone="America/New_York", phone="")
    policy = policy_of(product)
    start = datetime(2031, 6, 2, 14, tzinfo=UTC)
    assert policy.deadline(start) == start - timedelta(hours=24)
    assert policy.free_at(start, start - timedelta(hours=25))
    assert not policy.free_at(start, start - timedelta(hours=24))
    assert policy.summary().endswith("cancellations are by phone, free of charge.")
    assert policy.for_booking(start).startswith("Free cancellation until Sunday 1 June 2031, 10:00")


def test_set_policy_refuses_nonsense(session: Session) -> None:
    make_world(session)
    with pytest.raises(Invalid, match="0 to 720 hours"):
        set_policy(session, product_code="drive", free_hours=-1, late_fee=None, actor="t")
    with pytest.raises(Invalid, match="finer than"):
        set_policy(
            session, product_code="drive", free_hours=24, late_fee=Decimal("1.005"), actor="t"
        )


@pytest.fixture
def cli_run(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"PADDOCK_DATABASE_URL": database_url, "COLUMNS": "200"})
    get_settings.cache_clear()


def test_the_cli_sets_a_policy(cli_run: CliRunner, session: Session) -> None:
    make_world(session)
    done = cli_run.invoke(
        cli.app, ["products", "policy", "drive", "--free-hours", "72", "--late-fee", "99.50"]
    )
    assert done.exit_code == 0, done.output
    assert "up to 3 days before the start" in done.output and "$99.50" in done.output
    bad = cli_run.invoke(
        cli.app, ["products", "policy", "drive", "--free-hours", "1", "--late-fee", "lots"]
    )
    assert bad.exit_code == 1 and "not an amount" in bad.output
