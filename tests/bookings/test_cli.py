"""The `paddock` command on SQLite and PostgreSQL: schema, demo world, catalogue, availability,
booking, and bad input as one readable line on stderr with a non-zero exit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from paddock import cli
from paddock.errors import NotFound
from paddock.settings import get_settings
from tests.factories import MONDAY, make_world

Run = Callable[..., Result]
PADDOCK = Path(sys.executable).parent / "paddock"


def runner_for(url: str) -> Run:
    runner = CliRunner()

    def run(*args: str) -> Result:
        get_settings.cache_clear()  # settings are read once per process
        result = runner.invoke(
            cli.app, list(args), env={"PADDOCK_DATABASE_URL": url, "COLUMNS": "200"}
        )
        get_settings.cache_clear()
        return result

    return run


@pytest.fixture
def paddock(database_url: str) -> Iterator[Run]:
    yield runner_for(database_url)
    get_settings.cache_clear()


def run_real(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point in its own process, as a user runs it."""
    env = {**os.environ, "PADDOCK_DATABASE_URL": url, "COLUMNS": "80"}
    return subprocess.run(
        [str(PADDOCK), *args], env=env, capture_output=True, text=True, timeout=60
    )


def run_main(
    url: str, args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """`paddock ARGS` through `paddock.cli.main`, the entry point, in this process."""
    monkeypatch.setenv("PADDOCK_DATABASE_URL", url)
    monkeypatch.setattr(sys, "argv", ["paddock", *args])
    get_settings.cache_clear()
    capsys.readouterr()
    try:
        cli.main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    return code, out, err


def test_db_upgrade_demo_load_and_catalogue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    paddock = runner_for(url)
    upgraded = paddock("db", "upgrade")
    assert upgraded.exit_code == 0 and "up to date" in upgraded.output
    assert paddock("db", "current").output.strip() != "empty database"
    loaded = paddock("demo", "load")
    assert loaded.exit_code == 0, loaded.output
    assert "2 sites loaded" in " ".join(loaded.output.split())  # however the line wraps
    again = paddock("demo", "load", "--if-empty")
    assert again.exit_code == 0 and "already loaded" in again.output
    refused = run_real(url, "demo", "load")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: The database already holds data; the demo loads into an empty one."
    ]
    sites = paddock("sites", "list").output
    assert "ATL" in sites and "America/New_York" in sites and "America/Los_Angeles" in sites
    products = paddock("products", "list", "--site", "ATL").output
    assert "atl-911-carrera-s" in products and "600.00 USD" in products
    assert "atl-delivery" not in products  # not sold to the public
    assert "atl-delivery" in paddock("products", "list", "--all").output
    fleet = paddock("fleet", "list", "--site", "ATL", "--kind", "vehicle_model")
    assert fleet.exit_code == 0 and "911 GT3 01" in fleet.output and "VIN WP0" in fleet.output


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_availability_starts_today_at_the_site(paddock: Run, session: Session, zone: str) -> None:
    """Without --from, the first day is the site's today (UTC+14 and UTC-11 differ from the
    machine's by a day for much of it)."""
    make_world(session, time_zone=zone, opening=("00:00", "00:00"))
    listed = paddock("availability", "sim", "--days", "1", "--full")
    assert listed.exit_code == 0, listed.output
    today = datetime.now(ZoneInfo(zone)).date()
    days = set(re.findall(r"(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}", listed.output))
    assert days == {str(today)}, listed.output


def test_availability_book_show_cancel(paddock: Run, session: Session) -> None:
    make_world(session, cars=1)
    listed = paddock("availability", "drive", "--from", str(MONDAY), "--days", "1")
    assert listed.exit_code == 0, listed.output
    assert "18 of 18 start times have room" in listed.output
    assert "2031-06-02 08:00" in listed.output
    booked = paddock(
        "book",
        "drive",
        "--at",
        f"{MONDAY}T10:00",
        "--name",
        "Ann Lee",
        "--email",
        "ann@example.com",
        "--key",
        "cli-1",
    )
    assert booked.exit_code == 0, booked.output
    ref = booked.output.split()[0]
    assert ref.startswith("P") and "confirmed" in booked.output and "10:00" in booked.output
    # The same key again: the same booking, not a second one.
    replay = paddock(
        "book",
        "drive",
        "--at",
        f"{MONDAY}T10:00",
        "--name",
        "Ann Lee",
        "--email",
        "ann@example.com",
        "--key",
        "cli-1",
    )
    assert replay.output.split()[0] == ref
    full = paddock("availability", "drive", "--from", str(MONDAY), "--days", "1", "--full")
    assert "Cars: 1 needed" in full.output
    shown = paddock("bookings", "show", ref)
    assert shown.exit_code == 0 and ref in shown.output and "Car 1" in shown.output
    assert "cli: confirmed" in shown.output
    cancelled = paddock("bookings", "cancel", ref, "--reason", "ill")
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    day = paddock("bookings", "list", "--site", "TST", "--day", str(MONDAY))
    assert ref in day.output
    missing = paddock("bookings", "show", "PNOPE")
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFound)


def test_bad_input_is_one_readable_line(
    database_url: str,
    session: Session,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_world(session, cars=1)
    book = ["book", "drive", "--name", "Ann Lee", "--email", "ann@example.com"]
    assert runner_for(database_url)(*book, "--at", f"{MONDAY}T10:00").exit_code == 0
    cases = {
        "unknown product": (["availability", "nope", "--from", str(MONDAY)], "nope"),
        "bad date": (["availability", "drive", "--from", "2031-13-01"], "not a date"),
        "bad day": (["bookings", "list", "--site", "TST", "--day", "monday"], "not a date"),
        "bad time": (
            ["book", "drive", "--at", "10am", "--name", "Ann Lee", "--email", "ann@example.com"],
            "not a date-time",
        ),
        "sold out": ([*book, "--at", f"{MONDAY}T10:30"], "Not enough capacity: no cars free"),
        "off grid": ([*book, "--at", f"{MONDAY}T10:10"], "not a start time"),
        "bad email": (
            ["book", "drive", "--at", f"{MONDAY}T12:00", "--name", "Ann Lee", "--email", "ann@"],
            "email",
        ),
        "unknown site": (["fleet", "list", "--site", "XYZ"], "No site"),
        "booked unit": (
            [
                "fleet",
                "block",
                "Car 1",
                "--from",
                str(MONDAY),
                "--to",
                str(MONDAY),
                "--reason",
                "Service",
            ],
            "Car 1 is booked",
        ),
    }
    # In process through the entry point's error handling (fast), then two real processes.
    for name, (args, expected) in cases.items():
        code, out, err = run_main(database_url, args, capsys, monkeypatch)
        lines = err.strip().splitlines()
        assert code == 1, (name, out, err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
        assert expected in lines[0], (name, err)
    procs = {
        name: subprocess.Popen(
            [str(PADDOCK), *cases[name][0]],
            env={**os.environ, "PADDOCK_DATABASE_URL": database_url, "COLUMNS": "80"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("sold out", "bad date")
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        lines = err.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1, (name, err)
        assert cases[name][1] in lines[0] and "Traceback" not in err + out
