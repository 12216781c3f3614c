"""Guests never read internal pool names: each pool has a public wording (its own, or its
kind's), set by operations through the pool API and the CLI, and used in the availability
and booking answers of the public API and on the guest pages; staff keep the names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.audit.models import AuditEntry
from paddock.bookings import service as bookings
from paddock.capacity.models import Pool
from paddock.capacity.wording import default_wording
from paddock.catalog import service as catalog
from paddock.settings import get_settings
from tests.auth import sign_in, sign_out
from tests.factories import MONDAY, at, make_world


def test_default_wording_never_names_a_module_or_a_quota() -> None:
    assert default_wording("module", "Kick plate") == "track time"
    assert default_wording("coach", "GT-qualified coaches") == "driving coaches"
    assert "Porsche Atlanta" not in default_wording(
        "dealer_allotment", "Porsche Atlanta test-drive places December 2026"
    )
    assert default_wording("vehicle_model", "911 GT3") == "911 GT3 cars"
    assert default_wording("something new", "Internal thing") == "places"


def _book_the_only_car(session: Session) -> None:
    make_world(session, cars=1, coaches=3)
    bookings.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
    )


def test_operations_set_the_wording_and_guests_read_it(
    client: TestClient, session: Session
) -> None:
    _book_the_only_car(session)
    sign_in(client, session, "operations")
    changed = client.patch("/api/v1/sites/tst/pools/car", json={"public_name": "  Porsche   911s "})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"code": "car", "name": "Cars", "public_name": "Porsche 911s"}
    pools = {p["code"]: p for p in client.get("/api/v1/sites/TST/pools").json()}
    assert pools["car"]["name"] == "Cars"  # staff keep the internal name
    assert pools["car"]["public_name"] == "Porsche 911s"
    assert pools["module"]["public_name"] == "track time"  # the kind's wording
    entry = session.scalar(select(AuditEntry).where(AuditEntry.subject_kind == "pool"))
    assert entry is not None and entry.action == "public_name_changed"
    assert (
        client.patch("/api/v1/sites/TST/pools/nope", json={"public_name": "x"}).status_code == 404
    )
    too_long = client.patch("/api/v1/sites/TST/pools/car", json={"public_name": "x" * 201})
    assert too_long.status_code == 422
    sign_out(client)
    catalog.invalidate_cache()  # the product's plan is cached a few seconds

    day = MONDAY.isoformat()
    slots = client.get(
        "/api/v1/products/drive/availability", params={"from": day, "to": day}
    ).json()["slots"]
    short = next(s["short"] for s in slots if s["short"])
    assert short == {
        "pool": "car",
        "wording": "Porsche 911s",
        "needed": 1,
        "free": 0,
        "missing": 1,
    }
    product = client.get("/api/v1/products/drive").json()
    assert {d["pool"]: d["wording"] for d in product["demands"]}["module"] == "track time"
    assert "Cars" not in str(product) and "Modules" not in str(product)
    refused = client.post(
        "/api/v1/bookings",
        json={
            "product": "drive",
            "starts_at": at(MONDAY, 10, 30).isoformat(),
            "guest": {"name": "Bo Kim", "email": "bo@example.com"},
        },
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert "no Porsche 911s free" in problem["detail"] and "Cars" not in refused.text


def test_an_empty_wording_goes_back_to_the_default(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "operations")
    assert (
        client.patch("/api/v1/sites/TST/pools/sim", json={"public_name": "rigs"}).json()[
            "public_name"
        ]
        == "rigs"
    )
    back = client.patch("/api/v1/sites/TST/pools/sim", json={"public_name": ""})
    assert back.json()["public_name"] == "simulators"
    sign_in(client, session, "coach")
    assert client.patch("/api/v1/sites/TST/pools/sim", json={"public_name": "x"}).status_code == 403


@pytest.fixture
def cli_run(database_url: str) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"PADDOCK_DATABASE_URL": database_url, "COLUMNS": "200"})
    get_settings.cache_clear()


def test_the_cli_sets_and_lists_the_wording(cli_run: CliRunner, session: Session) -> None:
    make_world(session)
    done = cli_run.invoke(cli.app, ["site", "pool-wording", "TST", "module", "circuit time"])
    assert done.exit_code == 0, done.output
    assert "module: guests read 'circuit time'" in done.output
    session.expire_all()
    pool = session.scalar(select(Pool).where(Pool.code == "module"))
    assert pool is not None and pool.public_name == "circuit time"
    listed = cli_run.invoke(cli.app, ["site", "pools", "TST"])
    assert listed.exit_code == 0 and "circuit time" in listed.output
    missing = cli_run.invoke(cli.app, ["site", "pool-wording", "TST", "nope", "x"])
    assert missing.exit_code == 1 and "No pool 'nope'" in str(missing.exception)
