"""Season calendars imported from CSV with any line ends (issue 11, finding 6): Excel's "CSV
(Macintosh)" (CR alone) was a bare 500; CRLF, LF and a byte-order mark too, over the API and
the CLI; what is not CSV text is a 422 problem (one error line on the CLI), nothing written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock import cli
from paddock.motorsport import models as orm
from paddock.settings import get_settings
from tests.auth import sign_in

API = "/api/v1/motorsport"
LINES = [
    "championship,season,round,venue,country,region,start_date,end_date",
    "IMSA,2026,Rolex 24 at Daytona,Daytona International Speedway,USA,North America,"
    "2026-01-24,2026-01-25",
    'IMSA,2026,Sebring 12 Hours,"Sebring, Florida",USA,North America,2026-03-18,2026-03-21',
]
ENDS = pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])


def _events_2026(session: Session) -> int:
    session.rollback()
    query = (
        select(func.count())
        .select_from(orm.RaceEvent)
        .join(orm.Season, orm.Season.id == orm.RaceEvent.season_id)
        .where(orm.Season.year == 2026)
    )
    return session.scalar(query) or 0


@ENDS
def test_season_import_over_http_reads_any_line_end(
    demo: Session, client: TestClient, end: str
) -> None:
    sign_in(client, demo, "motorsport")
    data = b"\xef\xbb\xbf" + (end.join(LINES) + end).encode()
    done = client.post(f"{API}/seasons/import", content=data, headers={"Content-Type": "text/csv"})
    assert done.status_code == 201, done.text
    assert done.json()["events"] == 2
    assert _events_2026(demo) == 2


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (LINES[0].encode() + b"\rIMSA,2026,Daytona \xe9\r", "not UTF-8 text"),
        (LINES[0].encode() + b"\rIMSA,2026,Day\x00tona\r", "NUL character on line 2"),
        (b"PK\x03\x04\x14\x00\x06\x00", "an Excel workbook (.xlsx)"),
        (LINES[0].encode() + b'\rIMSA,2026,"Daytona\r', "a quote is left open"),
    ],
)
def test_what_is_not_csv_text_is_a_problem(
    demo: Session, client: TestClient, data: bytes, says: str
) -> None:
    sign_in(client, demo, "motorsport")
    answer = client.post(
        f"{API}/seasons/import", content=data, headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"]
    assert _events_2026(demo) == 0


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("PADDOCK_DATABASE_URL", url)
    monkeypatch.setattr(sys, "argv", ["paddock", "motorsport", *args])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


@ENDS
def test_season_import_from_the_cli_reads_any_line_end(
    demo: Session,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    end: str,
) -> None:
    path = tmp_path / "imsa.csv"
    path.write_bytes((end.join(LINES) + end).encode())
    code, out, err = _run(monkeypatch, capsys, database_url, "import-season", str(path))
    assert code == 0, err
    assert "IMSA 2026: 2 event(s) imported" in out
    assert _events_2026(demo) == 2


def test_season_import_from_the_cli_refuses_what_is_not_text(
    demo: Session,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "imsa.csv"
    path.write_bytes(LINES[0].encode() + b"\rIMSA,2026,Daytona \xff\r")
    code, _, err = _run(monkeypatch, capsys, database_url, "import-season", str(path))
    assert code == 1
    assert err.startswith("error: The calendar file is not UTF-8 text") and err.count("\n") == 1
    assert _events_2026(demo) == 0
