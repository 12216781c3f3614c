"""CSV in and out: every upload is read, and every export written, through this module.

Reading (`decode`, `rows`, `DictRows`): UTF-8 with or without a byte-order mark, universal
newlines (LF, CRLF, and the CR of Excel's "CSV (Macintosh)"), and a readable `Invalid` (422) for
what is not CSV text: bytes that are not UTF-8, a NUL byte, a spreadsheet or PDF sent as is, a
quote left open, a field past the size limit.

Writing (`writer`, `to_text`): a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return is prefixed with a single quote, as OWASP recommends against formula injection
(`=HYPERLINK(…)`, `@SUM(…)`, `=cmd|…` in a guest's name would run in the reader's spreadsheet).
Numbers we compute (int, float, Decimal, such as a KPI delta of -3) stay numbers: only text can
carry a formula, so a negative number is written as it is. Text that looks like a negative
number ("-3" typed into a name) is quoted like any other text: we cannot tell it from the start
of a formula. (defusedcsv does the same job but leaves the tab and carriage return that OWASP
lists, and rewrites `|` inside cells.)"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from paddock.errors import Invalid

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What a file that is not text starts with, and what to tell the person who sent it.
NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)
SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)' and try again"
# What csv's own errors mean to the person whose file it is.
HINTS = (
    ("end of data", "a quote is left open"),
    ("expected after", "text follows a closing quote"),
    ("field limit", "a field is longer than 128 KB"),
)

if TYPE_CHECKING:
    _DictReader = csv.DictReader[str]
else:
    _DictReader = csv.DictReader


# Writing ------------------------------------------------------------------------------------


def neutralise(value: object) -> object:
    """A cell as it is safe to write: text that a spreadsheet would read as a formula gets a
    leading quote; numbers and empty cells are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Sink(Protocol):
    def write(self, text: str, /) -> Any: ...


class SafeWriter:
    """`csv.writer` with every cell through `neutralise`."""

    def __init__(self, out: _Sink, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Sink, **options: Any) -> SafeWriter:
    return SafeWriter(out, **options)


def to_text(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A whole CSV file as text: the header, then the rows, every cell neutralised."""
    out = io.StringIO()
    safe = writer(out)
    safe.writerow(header)
    safe.writerows(rows)
    return out.getvalue()


# Reading ------------------------------------------------------------------------------------


def decode(data: bytes | str, *, what: str = "The file", max_bytes: int | None = None) -> str:
    """An upload as CSV text with '\\n' line ends (universal newlines), its BOM dropped; Invalid
    naming what is wrong when it is not CSV text."""
    if isinstance(data, str):
        text = data
    else:
        if max_bytes is not None and len(data) > max_bytes:
            raise Invalid(f"{what} is larger than {max_bytes / 1_000_000:g} MB; split it.")
        for magic, kind in NOT_CSV:
            if data.startswith(magic):
                raise Invalid(f"{what} is {kind}, not CSV text: {SAVE_AS}.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + data.count(b"\r", 0, exc.start) + 1
            line -= data.count(b"\r\n", 0, exc.start)
            raise Invalid(
                f"{what} is not UTF-8 text (byte {exc.start + 1}, line {line}): {SAVE_AS}."
            ) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        line = _line_of(text, text.index("\x00"))
        raise Invalid(f"{what} has a NUL character on line {line}: it is not CSV text; {SAVE_AS}.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def rows(text: str, *, what: str = "The file", delimiter: str = ",") -> Rows:
    """The records of CSV text from `decode`, as lists of strings."""
    return Rows(text, what=what, delimiter=delimiter)


class Rows:
    """`csv.reader` (strict) whose errors are Invalid naming the line."""

    def __init__(self, text: str, *, what: str = "The file", delimiter: str = ",") -> None:
        self._what = what
        self._reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    @property
    def line_num(self) -> int:
        return self._reader.line_num

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        try:
            return next(self._reader)
        except csv.Error as exc:
            raise invalid_csv(exc, self._what, self._reader.line_num) from None


class DictRows(_DictReader):
    """`csv.DictReader` over `Rows`: the first record names the columns."""

    def __init__(self, text: str, *, what: str = "The file") -> None:
        super().__init__(io.StringIO(""))
        self.reader = Rows(text, what=what)  # type: ignore[assignment]


def checked(text: str, *, what: str = "The file") -> str:
    """The text, once a strict reading of every record found nothing wrong: for a parser that
    runs the csv module itself (and would read a quote left open as one long field)."""
    for _ in rows(text, what=what):
        pass
    return text


def invalid_csv(exc: csv.Error, what: str, line: int | None = None) -> Invalid:
    hint = next((h for key, h in HINTS if key in str(exc)), str(exc))
    near = f" near line {line}" if line else ""
    return Invalid(f"{what} is not valid CSV{near}: {hint}.")


def _line_of(text: str, index: int) -> int:
    head = text[:index]
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1
