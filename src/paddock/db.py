"""Engine, sessions and shared column types for every domain."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from paddock.async_connections import AsyncConnections

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: timestamptz on PostgreSQL, naive UTC on SQLite; aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # psycopg on a UTC session: already what we want
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @staticmethod
    def from_sqlite(value: str) -> datetime:
        """SQLite's stored text (naive UTC, any ISO form) as an aware instant."""
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        fallback = super().result_processor(dialect, coltype)
        assert fallback is not None  # TypeDecorator wraps process_result_value

        def instant(value: str | None) -> datetime | None:
            # SQLite hands back the stored text: one C parse straight to an aware instant is
            # several times cheaper than parse, then replace (availability reads thousands).
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                slow: datetime | None = fallback(value)  # other stored forms
                return slow

        return instant


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


T = TypeVar("T")
# Threads for blocking database work of the hottest endpoints. Few of them: more threads than
# this only queue on the interpreter lock, and the connection pool.
_db_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="paddock-db")


async def run_blocking(work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run blocking work off the event loop. A plain executor hop costs about a third of
    Starlette's threadpool (anyio's limiter and task lookups)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_db_threads, functools.partial(work, *args, **kwargs))


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, pool_size: int = 10, lock_timeout_ms: int = 5000) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, lock_timeout_ms)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"options": f"-c lock_timeout={lock_timeout_ms} -c timezone=UTC"},
    )


def _sqlite_engine(url: str, lock_timeout_ms: int) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={lock_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer's transaction takes SQLite's single write lock at BEGIN: the check-then-insert
        # of an allocation cannot interleave with another writer's.
        mode = "IMMEDIATE" if connection.get_execution_options().get("sqlite_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


# PostgreSQL's SQLSTATEs for a lock wait that timed out, a deadlock and a serialization
# failure: the same request may well succeed when retried.
DEADLOCK = "40P01"
BUSY_STATES = frozenset({"55P03", DEADLOCK, "40001"})


def is_busy_error(exc: BaseException) -> bool:
    """A lock wait that ran out (PostgreSQL's, or SQLite's 'database is locked'), a deadlock
    or a serialization failure: 'busy, retry' rather than 'sold out' or a 500. Takes the
    driver's error or SQLAlchemy's wrapper of it."""
    if isinstance(exc, OperationalError) and "database is locked" in str(exc):
        return True
    return sqlstate(exc) in BUSY_STATES


def is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL broke a deadlock by rolling this transaction back whole (two writers whose
    exclusion checks waited on each other, say): running it again is safe, and sees the
    winner's rows, so it gives the true answer (taken, sold out) instead of 'busy'."""
    return sqlstate(exc) == DEADLOCK


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a driver error or of SQLAlchemy's wrapper of it (None on SQLite)."""
    driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
    state: str | None = getattr(driver_error, "sqlstate", None)
    return state


def async_pool(url: str, *, size: int, lock_timeout_ms: int) -> AsyncConnections | None:
    """PostgreSQL: autocommit connections for statements awaited on an event loop (the booking
    endpoint); None on SQLite. Open them with `await pool.open()`."""
    if not url.startswith("postgresql"):
        return None
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return AsyncConnections(
        conninfo,
        size=size,
        options=f"-c lock_timeout={lock_timeout_ms} -c timezone=UTC",
        # A request waits for a connection about as long as for a lock, then hears "busy".
        wait_seconds=max(lock_timeout_ms / 1000, 1.0),
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


class SqliteWriters:
    """The queue of writers to one SQLite file: a thread lock, then an flock on a file beside
    the database (`<db>-writer.lock`), which a crashed process gives up with its descriptor."""

    def __init__(self, database: str | None) -> None:
        # Reentrant, as before there was a file lock: a thread may nest writes of two sessions.
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._fd = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            weakref.finalize(self, os.close, self._fd)  # with its engine, not at exit only

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        self._depth += 1
        if self._fd is None or self._depth > 1:
            return True
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                # At most one waiter per process polls here (the others wait on the thread
                # lock), in short steps: a lock is held for a millisecond or two.
                if time.monotonic() >= deadline:
                    self._depth -= 1
                    self._threads.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def release(self) -> None:
        self._depth -= 1
        if self._fd is not None and self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()
