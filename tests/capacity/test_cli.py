"""`paddock fleet …` and `paddock site …` on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import Result
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.capacity import operations
from paddock.errors import Conflict, NotFound
from paddock.settings import get_settings
from tests.factories import MONDAY, make_world


class Paddock:
    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        get_settings.cache_clear()
        try:
            return self.runner.invoke(
                cli.app, list(args), env={"PADDOCK_DATABASE_URL": self.url, "COLUMNS": "200"}
            )
        finally:
            get_settings.cache_clear()


@pytest.fixture
def paddock(database_url: str) -> Iterator[Paddock]:
    yield Paddock(database_url)


def block_id(output: str) -> int:
    found = re.search(r"#(\d+)", output)
    assert found, output
    return int(found.group(1))


def test_fleet_list_and_show(paddock: Paddock, session: Session) -> None:
    world = make_world(session, cars=2)
    world.units["car"][0].attributes = {"vin": "WP0AA2A71JL100001", "odometer_miles": 5230}
    session.commit()
    listed = paddock("fleet", "list", "--site", "TST", "--kind", "vehicle_model")
    assert listed.exit_code == 0, listed.output
    assert "Car 1" in listed.output and "VIN WP0AA2A71JL100001" in listed.output
    assert "5,230 mi" in listed.output and "Coach" not in listed.output
    coaches = paddock("fleet", "list", "--site", "TST", "--pool", "coach")
    assert "qualified: coach" in coaches.output
    shown = paddock("fleet", "show", "WP0AA2A71JL100001")
    assert shown.exit_code == 0 and "Car 1" in shown.output and "pools: car" in shown.output
    pools = paddock("sites", "pools", "TST")
    assert pools.exit_code == 0 and "car" in pools.output and "2/2" in pools.output


def test_block_unblock_and_list(paddock: Paddock, session: Session) -> None:
    make_world(session, cars=1)
    blocked = paddock(
        "fleet",
        "block",
        "Car 1",
        "--site",
        "TST",
        "--from",
        str(MONDAY),
        "--to",
        str(MONDAY),
        "--reason",
        "Brake service",
    )
    assert blocked.exit_code == 0, blocked.output
    # A whole local day: from midnight to the next midnight.
    assert "2031-06-02 00:00 to 2031-06-03 00:00" in blocked.output
    ident = block_id(blocked.output)
    listed = paddock("fleet", "blocks", "--site", "TST")
    assert f"#{ident} maintenance: Car 1" in listed.output and "1 block(s)" in listed.output
    # Only a unit's block is removed with unblock; a closure is reopened.
    assert paddock("sites", "reopen", str(ident)).exit_code == 1
    assert paddock("fleet", "unblock", str(ident)).exit_code == 0
    assert "0 block(s)" in paddock("fleet", "blocks", "--site", "TST").output
    gone = paddock("fleet", "unblock", str(ident))
    assert isinstance(gone.exception, NotFound)


def test_site_close_and_reopen(paddock: Paddock, session: Session) -> None:
    make_world(session)
    closed = paddock(
        "sites",
        "close",
        "TST",
        "--from",
        f"{MONDAY}T12:00",
        "--to",
        f"{MONDAY}T18:00",
        "--reason",
        "Private event",
        "--kind",
        "event",
    )
    assert closed.exit_code == 0, closed.output
    assert "TST closed" in closed.output and "2031-06-02 12:00 to 2031-06-02 18:00" in closed.output
    ident = block_id(closed.output)
    availability = paddock("availability", "drive", "--from", str(MONDAY), "--days", "1")
    assert "6 of 18 start times have room" in availability.output  # 08:00 to 10:30 end by noon
    assert paddock("fleet", "unblock", str(ident)).exit_code == 1
    assert paddock("sites", "reopen", str(ident)).exit_code == 0
    assert (
        "18 of 18" in paddock("availability", "drive", "--from", str(MONDAY), "--days", "1").output
    )


def test_retire_refused_then_done(paddock: Paddock, session: Session) -> None:
    make_world(session, cars=1)
    booked = paddock(
        "book",
        "drive",
        "--at",
        f"{MONDAY}T10:00",
        "--name",
        "Ann Lee",
        "--email",
        "ann@example.com",
    )
    ref = booked.output.split()[0]
    refused = paddock("fleet", "retire", "Car 1", "--reason", "Sold")
    assert isinstance(refused.exception, Conflict) and ref in str(refused.exception)
    assert paddock("bookings", "cancel", ref).exit_code == 0
    assert paddock("fleet", "retire", "Car 1", "--reason", "Sold").exit_code == 0
    state = paddock("fleet", "show", "Car 1")
    assert "retired" in state.output and "since" in state.output
    assert paddock("fleet", "reactivate", "Car 1").exit_code == 0
    assert operations.find_unit(session, ref="Car 1").active
