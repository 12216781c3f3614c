"""What every `paddock` command shares: `--version`; one error style (`error: …`, one line on
standard error; 2 for bad usage, 1 for a refused command); codes shown whole in tables however
narrow the terminal; on a database without the schema every command says to run `paddock db
upgrade` and creates no file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.table import Table
from sqlalchemy.orm import Session

from paddock import __version__, cli
from paddock.bookings import service as bookings
from paddock.cli_support import _Console
from paddock.settings import get_settings
from tests.factories import MONDAY, at, make_world


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    *args: str,
    columns: int = 200,
) -> tuple[int, str, str]:
    """`paddock ARGS` through the entry point, as a user runs it."""
    monkeypatch.setenv("PADDOCK_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(sys, "argv", ["paddock", *args])
    get_settings.cache_clear()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(monkeypatch, capsys, "sqlite:///unused.db", "--version")
    assert (code, out.strip()) == (0, f"paddock {__version__}")


COMMANDS = (
    ("sites", "list"),
    ("bookings", "list", "--site", "ATL"),
    ("kpi",),
    ("crm", "people"),
    ("dealers", "list"),
    ("motorsport", "requests", "list"),
    ("demo", "load"),
    ("db", "current"),
    ("webhooks", "dispatch", "--loop"),
)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_no_database_file_is_made(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    path = tmp_path / "nowhere.db"
    code, out, err = run(monkeypatch, capsys, f"sqlite:///{path}", *args)
    assert code == 1 and out == ""
    assert err == f"error: no database at {path}: run 'paddock db upgrade' first\n"
    assert list(tmp_path.iterdir()) == []  # no file, no lock beside it


@pytest.mark.parametrize("args", COMMANDS[:6], ids=lambda a: " ".join(a))
def test_an_empty_database_asks_for_the_upgrade(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    code, _, err = run(monkeypatch, capsys, f"sqlite:///{path}", *args)
    assert code == 1
    assert err == "error: the database has no schema yet: run 'paddock db upgrade' first\n"
    assert path.stat().st_size == 0  # nothing written


def test_one_error_style(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    for args, expected in (
        (("kpi", "--year", "soon"), "error: Invalid value for '--year'"),
        (("no-such-command",), "error: No such command 'no-such-command'."),
        (("fleet", "list", "--site"), "error: Option '--site' requires an argument."),
    ):
        code, out, err = run(monkeypatch, capsys, database_url, *args)
        assert (code, out) == (2, ""), args
        assert err.startswith(expected) and err.count("\n") == 1, err
    code, out, err = run(monkeypatch, capsys, database_url, "bookings", "show", "NOPE")
    assert (code, out) == (1, "")
    assert err == "error: No booking with reference 'NOPE'.\n"
    # A group without its command shows the group's help, not an error.
    code, out, err = run(monkeypatch, capsys, database_url, "sites")
    assert code == 0 and "year-one" in out and err == ""


def test_codes_stay_whole_in_a_narrow_terminal() -> None:
    table = Table("request", "team", "reason")
    table.add_row("REQ-2024-0042-JOTA", "Hertha Jota Sport racing", "no trackside engineer free")
    console = _Console(width=40, record=True)
    console.print(table)
    assert "REQ-2024-0042-JOTA" in console.export_text()


def test_bookings_list_shows_the_product_and_whole_refs(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    session: Session,
) -> None:
    make_world(session)
    made = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
    )
    args = ("bookings", "list", "--site", "TST", "--day", MONDAY.isoformat())
    code, out, _ = run(monkeypatch, capsys, database_url, *args, columns=44)
    assert code == 0
    assert made.booking.ref in out and "drive" in out and "product" in out


def test_one_sites_group(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    session: Session,
) -> None:
    make_world(session)
    args = ("sites", "year-one", "TST", "--opens", "2031-05-14", "--drivers", "12000")
    code, out, err = run(monkeypatch, capsys, database_url, *args, "--dealer-share", "15")
    assert code == 0, err
    assert "TST: opens 2031-05-14" in out
    code, out, _ = run(monkeypatch, capsys, database_url, "sites", "list")
    row = next(line for line in out.splitlines() if "TST" in line)
    assert "experience" in row and "2031-05-14" in row and "12,000 drivers, 15 % via" in row
    code, out, _ = run(monkeypatch, capsys, database_url, "sites", "pools", "TST")
    assert code == 0 and "car" in out
    code, _, err = run(
        monkeypatch, capsys, database_url, "sites", "year-one", "TST", "--dealer-share", "150"
    )
    assert code == 1 and err == "error: The share via dealers is a percentage from 0 to 100.\n"
    code, out, _ = run(monkeypatch, capsys, database_url, "--help")
    assert " sites " in out and " site " not in out  # one group (`site` stays, hidden)
