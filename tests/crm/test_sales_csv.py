"""Sales imports read with any line ends (issue 11, finding 6): a file saved as Excel's "CSV
(Macintosh)" ends its lines with CR alone and was a bare 500; CRLF, LF and a byte-order mark
too, over the API and the CLI; what is not CSV text is a 422 problem that writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.crm.models import Sale
from tests.auth import sign_in
from tests.bookings.test_cli import runner_for
from tests.crm.helpers import make_dealer
from tests.factories import make_world

LINES = [
    "email,name,model,sold_on,deal_ref",
    "ann@example.com,Ann Lee,Macan,2020-01-02,N-1",
    'bob@example.com,"Stone, Bob",911 GT3,2020-01-03,N-2',
]
ENDS = pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])


def _sales(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Sale)) or 0


@ENDS
def test_sales_import_over_http_reads_any_line_end(
    client: TestClient, session: Session, end: str
) -> None:
    make_world(session)
    make_dealer(session)
    sign_in(client, session, "dealer", dealer="D-ATL-001")
    data = b"\xef\xbb\xbf" + (end.join(LINES) + end).encode()
    done = client.post("/api/v1/sales/import", content=data, headers={"Content-Type": "text/csv"})
    assert done.status_code == 201, done.text
    assert done.json()["imported"] == 2
    assert _sales(session) == 2


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"email,name,model,sold_on,deal_ref\r\xe9\r", "not UTF-8 text (byte 35, line 2)"),
        (b"email,name,model,sold_on,deal_ref\rann@example.com\x00\r", "NUL character on line 2"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an Excel 97-2003 workbook (.xls)"),
        (
            b'email,name,model,sold_on,deal_ref\r"ann@example.com,Ann,Macan,2020-01-02,N-1\r',
            "a quote is left open",
        ),
    ],
)
def test_what_is_not_csv_text_is_a_problem(
    client: TestClient, session: Session, data: bytes, says: str
) -> None:
    make_world(session)
    make_dealer(session)
    sign_in(client, session, "dealer", dealer="D-ATL-001")
    answer = client.post("/api/v1/sales/import", content=data, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"]
    assert _sales(session) == 0


@ENDS
def test_sales_import_from_the_cli_reads_any_line_end(
    session: Session, database_url: str, tmp_path: Path, end: str
) -> None:
    make_world(session)
    make_dealer(session)
    path = tmp_path / "sales.csv"
    path.write_bytes((end.join(LINES) + end).encode())
    done = runner_for(database_url)("crm", "import-sales", str(path), "--dealer", "D-ATL-001")
    assert done.exit_code == 0, done.output
    assert "imported 2" in done.output
    assert _sales(session) == 2


def test_sales_import_from_the_cli_refuses_what_is_not_text(
    session: Session, database_url: str, tmp_path: Path
) -> None:
    make_world(session)
    make_dealer(session)
    path = tmp_path / "sales.csv"
    path.write_bytes(b"email,name,model,sold_on,deal_ref\rAnn \xff\r")
    refused = runner_for(database_url)("crm", "import-sales", str(path), "--dealer", "D-ATL-001")
    assert refused.exit_code != 0
    assert f"{path} is not UTF-8 text (byte 39, line 2)" in str(refused.exception)
    assert _sales(session) == 0
