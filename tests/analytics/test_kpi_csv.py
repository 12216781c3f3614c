"""The KPI CSV (API and `paddock kpi --csv`) with a hostile dealer code (issue 11, finding 9):
text that a spreadsheet would run as a formula is written with a leading quote; the figures,
ours, stay numbers (a negative one too: tests/test_csv_files.py)."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.analytics import service as kpi
from tests.auth import sign_in
from tests.bookings.test_cli import runner_for
from tests.crm.helpers import make_dealer, visit
from tests.factories import MONDAY, make_world

HOSTILE_CODES = ["=1+2", "@SUM(A1:A9)", "-2+3+cmd|'x'!A0"]  # dealer codes fit 16 characters


def _world(session: Session) -> None:
    make_world(session)
    for n, code in enumerate(HOSTILE_CODES):
        dealer = make_dealer(session, code, f"Dealer {n}")
        visit(session, email=f"g{n}@example.com", day=MONDAY, hour=9 + 2 * n, dealer_id=dealer.id)


def _ranks(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(kpi.CSV_COLUMNS)
    for row in rows:
        assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in row), row
    return [r for r in rows if r[0] == "dealer_rank"]


def test_kpi_csv_over_http_neutralises_dealer_codes(client: TestClient, session: Session) -> None:
    _world(session)
    sign_in(client, session, "operations")
    answer = client.get("/api/v1/kpi.csv", params={"year": 2031, "as_of": "2031-06-30"})
    assert answer.status_code == 200, answer.text
    ranks = _ranks(answer.text)
    assert sorted(r[1] for r in ranks) == sorted("'" + c for c in HOSTILE_CODES)
    assert sorted(r[2] for r in ranks) == ["1", "2", "3"]  # ranks: numbers, unquoted
    assert "drivers_ytd,all,3,20000,year 2031" in answer.text


def test_kpi_csv_from_the_cli_neutralises_dealer_codes(session: Session, database_url: str) -> None:
    _world(session)
    out = runner_for(database_url)("kpi", "--year", "2031", "--as-of", "2031-06-30", "--csv")
    assert out.exit_code == 0, out.output
    ranks = _ranks(out.output)
    assert sorted(r[1] for r in ranks) == sorted("'" + c for c in HOSTILE_CODES)
