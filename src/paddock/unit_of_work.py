"""The unit of work: the one place a write's transaction is begun, committed, rolled back and
run again.

A use case (a service function) owns its write; routers, pages and the CLI only parse input and
call it. They never commit or roll back: a request's reads end when the session dependency
closes the session (`paddock.http.get_session`, `paddock.web.deps`).

- `run_write(session, work)`: the usual shape. `work` is a function that reads what it needs
  and writes; it runs inside one transaction and runs again, from scratch, when running it
  again is safe and gives the true answer: a concurrent writer won a unit it chose (`LostRace`,
  or PostgreSQL's exclusion constraint, SQLSTATE 23P01), or PostgreSQL rolled it back whole to
  break a deadlock. A lock wait that runs out is "busy, retry" (`Busy`, a 503), never a 500.
- `write_transaction(session)`: the same transaction as a `with` block, run once, for writes
  that cannot lose a race (no exclusion constraint, no chosen units).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from paddock.db import is_busy_error, is_deadlock, sqlstate, write_transaction
from paddock.errors import Busy

__all__ = ["MAX_ATTEMPTS", "LostRace", "busy", "run_write", "write_transaction"]

T = TypeVar("T")

# Each attempt re-reads the winners' rows, so a handful is plenty; past them the caller
# hears "busy, retry" and the client's retry spreads the load.
MAX_ATTEMPTS = 6
EXCLUSION_VIOLATION = "23P01"


class LostRace(Exception):  # noqa: N818 (a signal to run again, not an error the user sees)
    """A concurrent writer took what this write chose between its read and its write: the
    write is rolled back and run again, and this time sees the winner's rows."""


def busy() -> Busy:
    return Busy("Another booking is being written for these resources; please retry.")


def run_write(session: Session, work: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run `work` in one transaction; run it again after a lost race or a deadlock (see the
    module's docstring). `work` must have no effect outside the database: mail and webhooks
    go through the outboxes, written in the same transaction."""
    for _ in range(attempts):
        try:
            with write_transaction(session):
                return work()
        except LostRace:
            continue
        except DBAPIError as exc:
            if sqlstate(exc) == EXCLUSION_VIOLATION or is_deadlock(exc):
                continue
            if is_busy_error(exc):
                raise busy() from exc
            raise
    raise busy()
