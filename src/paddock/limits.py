"""Numbers and dates bounded to what the database holds, declared once and shared.

Input schemas and parameters use these types instead of a bare `int`, `date` or `datetime`:
an id past PostgreSQL's 32-bit `integer` or a date in the year 9999 is refused as invalid
input (422, naming the field) before any use case sees it, on every database alike.

Behind the declared bounds, a safety net (`install_range_handlers`) answers what still gets
through as 422 problem+json, never a bare 500: a number the driver cannot send (SQLite's
64-bit INTEGER, `OverflowError`), a value the column cannot hold (PostgreSQL's
`numeric_value_out_of_range`, `datetime_field_overflow`...: SQLAlchemy's and psycopg's
`DataError`), and date arithmetic past year 9999 (`OverflowError`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import psycopg
from annotated_types import Ge, Le, Lt
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import AwareDatetime
from sqlalchemy.exc import DataError as SQLAlchemyDataError

from paddock.errors import DomainError, Invalid

# PostgreSQL `integer`, the type of every id and count column.
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

# Dates a person means: a booking, a block, a campaign, a sale. Far enough either way for any
# history and plan, near enough that date arithmetic (a month on, a week back, a time zone)
# never leaves what Python and the databases represent.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
FIRST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(2201, 1, 1, tzinfo=UTC)  # exclusive

# A row's id (path, query or body): positive and within `integer`.
Id = Annotated[int, Ge(1), Le(INT32_MAX)]
# Any other integer stored in an `integer` column.
DbInt = Annotated[int, Ge(INT32_MIN), Le(INT32_MAX)]
# A calendar day, and an instant with its offset, within the years 1900-2200.
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY)]
Moment = Annotated[AwareDatetime, Ge(FIRST_MOMENT), Lt(END_OF_TIME)]


def check_day(value: date, what: str = "The date") -> date:
    """For dates parsed by hand (a month like 2026-12): the same range as `Day`."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise Invalid(f"{what} must be between {FIRST_DAY.year} and {LAST_DAY.year}.")
    return value


# The safety net -------------------------------------------------------------------------------


class OutOfRange(Invalid):
    code = "out-of-range"
    title = "Value out of range"


# SQLSTATE class 22 (data exception): what each means to the person who sent it.
_DATA_DETAIL = {
    "22003": "A number in the request is out of range (Paddock stores whole numbers up to "
    f"{INT32_MAX:,}).",
    "22008": "A date or time in the request is out of range.",
    "22001": "A text in the request is longer than Paddock stores.",
    "22021": "A text in the request is not valid UTF-8.",
    "22P05": "A text in the request contains a character Paddock cannot store (such as NUL).",
}


def out_of_range(exc: BaseException) -> OutOfRange:
    """The 422 for a value the database or Python's dates cannot hold."""
    if isinstance(exc, OverflowError):
        text = str(exc)
        if "date" in text or "year" in text:
            return OutOfRange(
                f"A date or time in the request is out of range (the years {FIRST_DAY.year}"
                f" to {LAST_DAY.year} are accepted)."
            )
        return OutOfRange(_DATA_DETAIL["22003"])
    original = getattr(exc, "orig", exc)
    state = getattr(original, "sqlstate", None) or ""
    if "NUL (0x00)" in str(original):  # psycopg refuses it before sending
        state = "22P05"
    detail = _DATA_DETAIL.get(state, "A value in the request cannot be stored as it is.")
    return OutOfRange(detail)


def install_range_handlers(app: FastAPI) -> None:
    """422 problem+json (an error page for pages) for values out of range, on every route,
    the hot booking route included (its runner uses the app's handlers)."""

    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # Rendered by whichever DomainError handler is installed (the web's gives pages HTML).
        handler = request.app.exception_handlers[DomainError]
        response: Response = await handler(request, out_of_range(exc))
        return response

    for kind in (OverflowError, SQLAlchemyDataError, psycopg.DataError):
        app.add_exception_handler(kind, _out_of_range)
