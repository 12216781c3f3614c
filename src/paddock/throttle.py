"""Throttles shared by every worker process (and every machine on one PostgreSQL): counters
per (bucket, window) in the database, each changed by one atomic statement.

A limit is `limit` hits per fixed window of `window` seconds (windows are aligned to the
epoch, so every process agrees on them without talking). `hit` takes a slot when one is free
(INSERT ... ON CONFLICT DO UPDATE ... WHERE hits < limit RETURNING hits: the same statement on
PostgreSQL and SQLite), so racing requests never take more than `limit` slots between them,
and a refused request does not count; it answers the seconds until the window ends
(Retry-After), or 0. `check` answers the same without counting. `forgive` gives a slot back
(an attempt that turned out not to be a guess), `forget` clears a bucket. Fixed windows let a
client spend a window's slots at its end and the next window's at once: at most twice the
limit in any `window` seconds.

Rows of ended windows are purged after a writer's hit, at most once a minute per process.

`LocalTally` is for the booking route, where a database round trip per request costs too
much: it counts in process and merges with the same table in batches (see there).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Executable

from paddock.db import Base, run_blocking
from paddock.unit_of_work import read_only, write_transaction

log = logging.getLogger(__name__)

throttle_counter = Table(
    "throttle_counter",
    Base.metadata,
    Column("bucket", String(200), primary_key=True),
    # Unix seconds, a multiple of the window (one window per bucket: the key names it).
    Column("window_start", BigInteger, primary_key=True, autoincrement=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False),
    Index("ix_throttle_counter_expires_at", "expires_at"),
)
_t = throttle_counter.c

Db = sessionmaker[Session] | Session
PURGE_EVERY = 60.0
_last_purge: dict[str, float] = {}


@dataclass(frozen=True)
class Limit:
    """`limit` hits per `window` seconds for the bucket `key`."""

    key: str
    limit: int
    window: int

    @property
    def bucket(self) -> str:
        return f"{self.key}/{self.window}"[:200]


def clock() -> float:
    """Now, in seconds since the epoch: the windows are aligned on it. One function, so that a
    test can hold the clock still (a run that crossed a window's end would split its count)."""
    return time.time()


def hidden(text: str) -> str:
    """An e-mail (or other personal data) in a bucket's key: not kept in clear in a table
    nobody erases from."""
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


def window_start(now: float, window: int) -> int:
    return int(now // window) * window


def retry_after(now: float, window: int) -> int:
    """Whole seconds until the window containing `now` ends (at least 1)."""
    return max(math.ceil(window_start(now, window) + window - now), 1)


def hit(db: Db, key: str, limit: int, window: int, *, now: float | None = None) -> int:
    """Take one of the bucket's `limit` slots in this window: 0 when taken, else the seconds
    until the window ends (and nothing is counted)."""
    return hit_all(db, [Limit(key, limit, window)], now=now).wait


@dataclass(frozen=True)
class Verdict:
    wait: int  # 0: a slot taken in every bucket; else seconds until the full ones' ends
    left: tuple[int, ...]  # per limit: slots left after this hit (0: the next one waits)
    full: tuple[bool, ...]  # per limit: refused this hit (nothing was counted anywhere)


def hit_all(db: Db, limits: Sequence[Limit], *, now: float | None = None) -> Verdict:
    """One slot in each bucket, all or none (one transaction): when any bucket is full none
    is counted, and the wait is until the latest of the full buckets' windows ends."""
    now = clock() if now is None else now
    left, full = [], []
    try:
        with _writing(db) as session:
            for lim in limits:
                row = session.execute(_take(session, lim, now)).first()
                left.append(0 if row is None else lim.limit - int(row[0]))
                full.append(row is None)
            if any(full):
                raise _Refused
    except _Refused:
        waits = [retry_after(now, lim.window) for lim, f in zip(limits, full, strict=True) if f]
        return Verdict(max(waits), tuple(left), tuple(full))
    _maybe_purge(db, now)
    return Verdict(0, tuple(left), tuple(full))


class _Refused(Exception):
    """Rolls back the slots already taken when a bucket is full."""


def check(db: Db, key: str, limit: int, window: int, *, now: float | None = None) -> int:
    """As `hit` answers, without counting: 0 when a slot is free."""
    now = clock() if now is None else now
    lim = Limit(key, limit, window)
    with _reading(db) as session:
        full = _hits(session, lim, now) >= limit
    return retry_after(now, window) if full else 0


def count(db: Db, key: str, window: int, *, now: float | None = None) -> int:
    """Hits counted in the bucket's current window."""
    now = clock() if now is None else now
    with _reading(db) as session:
        return _hits(session, Limit(key, 0, window), now)


def forgive(db: Db, key: str, window: int, *, now: float | None = None) -> None:
    """Give back a slot taken at `now` (pass the `now` of the hit, so that a request that
    ran across the end of a window gives back the slot of the window it took)."""
    now = clock() if now is None else now
    lim = Limit(key, 0, window)
    with _writing(db) as session:
        session.execute(
            update(throttle_counter)
            .where(
                _t.bucket == lim.bucket,
                _t.window_start == window_start(now, window),
                _t.hits > 0,
            )
            .values(hits=_t.hits - 1)
        )


def forget(session: Session, key: str, *, prefix: bool = False) -> None:
    """Clear every window of a bucket (or of every bucket whose key starts with `key`), in
    the caller's transaction."""
    pattern = _escape(key) + ("%" if prefix else "/%")
    session.execute(delete(throttle_counter).where(_t.bucket.like(pattern, "\\")))


def add(
    db: Db, counts: Iterable[tuple[str, int, int]], window: int, *, now: float
) -> dict[str, int]:
    """Add (key, window start, hits) counted elsewhere, in one statement; the totals after."""
    rows = [
        {
            "bucket": Limit(key, 0, window).bucket,
            "window_start": start,
            "expires_at": start + window,
            "hits": hits,
        }
        for key, start, hits in counts
    ]
    if not rows:
        return {}
    rows.sort(key=lambda r: (r["bucket"], r["window_start"]))  # one lock order for every writer
    with _writing(db) as session:
        insert = _insert(session).values(rows)
        statement = insert.on_conflict_do_update(
            index_elements=[_t.bucket, _t.window_start],
            set_={"hits": _t.hits + insert.excluded.hits},
        ).returning(_t.bucket, _t.window_start, _t.hits)
        totals = {(str(b), int(s)): int(h) for b, s, h in session.execute(statement)}
    _maybe_purge(db, now)
    suffix = f"/{window}"
    return {b.removesuffix(suffix): h for (b, _), h in totals.items()}


def purge(db: Db, *, now: float | None = None) -> int:
    """Delete the rows of windows that have ended."""
    now = clock() if now is None else now
    with _writing(db) as session:
        result = session.execute(delete(throttle_counter).where(_t.expires_at <= int(now)))
    return int(getattr(result, "rowcount", 0) or 0)


# In-process counting, merged in batches --------------------------------------------------


@dataclass
class _Tally:
    window_start: int
    pending: int = 0  # admitted here, not yet added to the table
    flushing: int = 0  # being added right now
    known: int = 0  # the table's total (every worker's) at the last merge, ours included


class LocalTally:
    """A per-address limit for a route where a database round trip per request costs too
    much (the booking route: ~1 ms a booking, the guard must cost < 5 %).

    Each process counts the requests it admits per key in memory, and `flush` (once a second,
    from `run`, while a key of the current window is known) adds them to the shared table in
    one statement and reads back the total of every key it holds, which counts every
    process's merged hits. A request is admitted while the last known total plus what this
    process admitted since stays under the limit.

    The approximation: a process sees the others' hits of the last second (at most) only
    after they and it have merged, so a window admits up to `limit` plus what the other
    processes admit in about a second; a burst inside one second can reach (processes x
    limit). Once a client's requests spread over more than a second the shared total stops
    them in every process. Requests refused here are not counted. No database work happens
    on the request path.
    """

    def __init__(self, key: str, limit: int, window: int = 60) -> None:
        self.key = key
        self.limit = limit
        self.window = window
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def admit(self, address: str, *, now: float | None = None) -> int:
        """Count one request from `address`: 0 when admitted, else seconds to wait."""
        if self.limit <= 0:
            return 0
        now = clock() if now is None else now
        start = window_start(now, self.window)
        with self._lock:
            tally = self._tallies.get(address)
            if tally is None or tally.window_start != start:
                tally = self._tallies[address] = _Tally(start)
            if tally.known + tally.flushing + tally.pending >= self.limit:
                return retry_after(now, self.window)
            tally.pending += 1
        return 0

    @property
    def active(self) -> bool:
        """Some key of the current window to merge (or to learn the others' count of)."""
        start = window_start(clock(), self.window)
        with self._lock:
            return any(t.window_start == start for t in self._tallies.values())

    def flush(self, db: Db, *, now: float | None = None) -> None:
        """Add what this process admitted to the shared table, and learn each key's total."""
        now = clock() if now is None else now
        current = window_start(now, self.window)
        with self._lock:
            for address in [a for a, t in self._tallies.items() if t.window_start < current]:
                del self._tallies[address]  # ended windows: nobody asks about them again
            batch = dict(self._tallies)
            for tally in batch.values():
                tally.flushing, tally.pending = tally.pending, 0
        if not batch:
            return
        counts = [(self._bucket(a), t.window_start, t.flushing) for a, t in batch.items()]
        try:
            totals = add(db, counts, self.window, now=now)
        except BaseException:
            with self._lock:
                for tally in batch.values():
                    tally.pending, tally.flushing = tally.pending + tally.flushing, 0
            raise
        with self._lock:
            for address, tally in batch.items():
                tally.known = max(tally.known, totals.get(self._bucket(address), 0))
                tally.flushing = 0

    async def run(self, factory: sessionmaker[Session], every: float = 1.0) -> None:
        """Flush once a second while the app runs (a task of its lifespan)."""
        while self.enabled:
            await asyncio.sleep(every)
            if not self.active:
                continue
            try:
                await run_blocking(self.flush, factory)
            except Exception:  # a passing database error: the counts wait for the next turn
                log.exception("throttle flush failed")

    def _bucket(self, address: str) -> str:
        return f"{self.key}:{address}"


# Statements ---------------------------------------------------------------------------------


def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(throttle_counter)
    return sqlite.insert(throttle_counter)


def _take(session: Session, lim: Limit, now: float) -> Executable:
    start = window_start(now, lim.window)
    insert = _insert(session).values(
        bucket=lim.bucket, window_start=start, expires_at=start + lim.window, hits=1
    )
    return insert.on_conflict_do_update(
        index_elements=[_t.bucket, _t.window_start],
        set_={"hits": _t.hits + 1},
        where=_t.hits < lim.limit,
    ).returning(_t.hits)


def _hits(session: Session, lim: Limit, now: float) -> int:
    found = session.scalar(
        select(_t.hits).where(
            _t.bucket == lim.bucket, _t.window_start == window_start(now, lim.window)
        )
    )
    return int(found or 0)


def _maybe_purge(db: Db, now: float) -> None:
    """Purge ended windows, at most once a minute per process and database, in a transaction
    of its own after the caller's (a failure here is logged: the next writer purges)."""
    bind = db.kw.get("bind") if isinstance(db, sessionmaker) else db.get_bind()
    if bind is None:
        return
    url = str(bind.engine.url)
    if now - _last_purge.get(url, 0.0) < PURGE_EVERY:
        return
    _last_purge[url] = now
    try:
        purge(db, now=now)
    except Exception:
        log.exception("purging ended throttle windows failed")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@contextmanager
def _session(db: Db) -> Iterator[Session]:
    """The session given, or a new one of the factory (closed after use)."""
    session = db() if isinstance(db, sessionmaker) else db
    try:
        yield session
    finally:
        if session is not db:
            session.close()


@contextmanager
def _writing(db: Db) -> Iterator[Session]:
    """A write transaction of its own."""
    with _session(db) as session, write_transaction(session):
        yield session


@contextmanager
def _reading(db: Db) -> Iterator[Session]:
    """Reads that end with the block."""
    with _session(db) as session, read_only(session):
        yield session
