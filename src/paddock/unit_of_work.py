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
- `end_read(session)` / `with read_only(session):`: a use case that must hold nothing while it
  goes on (a password check, a write in a transaction of its own, a dry run) ends its reads
  here; nothing it did in them is kept.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from paddock.db import SqliteWriters, is_busy_error, is_deadlock, sqlstate
from paddock.errors import Busy

__all__ = [
    "MAX_ATTEMPTS",
    "LostRace",
    "busy",
    "end_read",
    "read_only",
    "run_write",
    "write_transaction",
]

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


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a write use case in one transaction (write lock up front on SQLite)."""
    end_read(session)
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        with _transaction(session):
            yield session
        return
    # SQLite has one writer at a time. Writers queue on a lock of this process, then on a
    # lock of the database file shared by every process, before BEGIN IMMEDIATE: the next
    # writer starts the moment the one before is done, where SQLite's own busy handler polls
    # with sleeps growing to 100 ms (seconds of latency under load, idle cores). Past the lock
    # timeout SQLite's handler takes over, and its own timeout still answers "busy".
    writers = _sqlite_writers.get(bind.engine)
    if writers is None:
        writers = _sqlite_writers.setdefault(bind.engine, SqliteWriters(bind.engine.url.database))
    locked = writers.acquire(_LOCK_WAIT_SECONDS)
    try:
        session.connection(execution_options={"sqlite_write": True})
        with _transaction(session):
            yield session
    finally:
        if locked:
            writers.release()


_sqlite_writers: weakref.WeakKeyDictionary[Engine, SqliteWriters] = weakref.WeakKeyDictionary()
_LOCK_WAIT_SECONDS = 5.0


@contextmanager
def _transaction(session: Session) -> Iterator[None]:
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def end_read(session: Session) -> None:
    """End the session's read transaction: no snapshot, lock or connection is held after it
    (the session opens a new transaction when it next reads)."""
    if session.in_transaction():
        session.rollback()


@contextmanager
def read_only(session: Session) -> Iterator[Session]:
    """Reads (and trial writes, as in a dry run) that end with the block: whatever it did is
    rolled back, however it ends."""
    try:
        yield session
    finally:
        end_read(session)
