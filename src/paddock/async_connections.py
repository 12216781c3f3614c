"""The booking endpoint's PostgreSQL connections on the event loop: at most `size` autocommit
psycopg connections, handed out through an asyncio.Queue.

Not psycopg_pool, for a measured reason: on the booking path (8 requests in flight on 4
connections, in-process, uvloop) its check-out and return (a condition hand-off to waiters,
stats, reset checks) cost 90-150 µs of CPU per booking more than a queue's get and put, a
seventh of the endpoint. What the endpoint needs of a pool is small, and all here: a bound on
connections, a bounded wait ("busy, retry"), a connection that broke or was left mid-query
replaced, and an unreachable database answered as such rather than as a server error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from paddock.errors import Busy, Unavailable

# A queue slot without a connection: one is made when it is next taken.
_EMPTY = None


class AsyncConnections:
    def __init__(
        self,
        conninfo: str,
        *,
        size: int,
        options: str = "",
        wait_seconds: float = 5.0,
        connect_seconds: int = 5,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.conninfo = conninfo
        self.size = size
        self.options = options
        self.wait_seconds = wait_seconds
        self.connect_seconds = connect_seconds
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any] | None] | None = None
        self._all: set[psycopg.AsyncConnection[Any]] = set()

    async def open(self) -> None:
        """Ready for use; connections are made when first taken (the app starts even while
        the database is down, and answers 503 until it is back)."""
        self._idle = asyncio.Queue()
        for _ in range(self.size):
            self._idle.put_nowait(_EMPTY)

    async def close(self) -> None:
        for connection in list(self._all):
            await connection.close()
        self._all.clear()
        self._idle = None

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self._all if not c.closed)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        idle = self._idle
        if idle is None:
            raise RuntimeError("the connections are not open")
        try:
            connection = idle.get_nowait()
        except asyncio.QueueEmpty:
            try:
                connection = await asyncio.wait_for(idle.get(), self.wait_seconds)
            except TimeoutError:
                raise Busy(
                    f"Every database connection of this server stayed busy for "
                    f"{self.wait_seconds:g} s; please retry."
                ) from None
        try:
            if connection is None or connection.closed:
                await self._discard(connection)
                connection = None
                connection = await self._connect()
            yield connection
        finally:
            if connection is not None and not _reusable(connection):
                await self._discard(connection)
                connection = None
            idle.put_nowait(connection)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        """A new connection. A server that refuses for a passing reason (all its connection
        slots taken, starting up) is asked again, backing off, for up to `wait_seconds`: a
        burst of clients elsewhere should cost a request some milliseconds, not a 503."""
        deadline = asyncio.get_running_loop().time() + self.wait_seconds
        pause = 0.02
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self.conninfo,
                    autocommit=True,
                    options=self.options,
                    connect_timeout=self.connect_seconds,
                )
            except psycopg.OperationalError as exc:
                passing = _refused_for_now(exc)
                if passing and asyncio.get_running_loop().time() + pause < deadline:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.25)
                    continue
                if passing:
                    raise Unavailable(
                        f"The database had no free connection for {self.wait_seconds:g} s; "
                        "please retry."
                    ) from exc
                raise Unavailable(
                    "The database cannot be reached right now; please retry."
                ) from exc
            self._all.add(connection)
            return connection

    async def _discard(self, connection: psycopg.AsyncConnection[Any] | None) -> None:
        if connection is None:
            return
        self._all.discard(connection)
        # close() never waits (safe in a cancelled request's cleanup): the socket goes, and a
        # statement left running is stopped by the server when it finds the client gone.
        await connection.close()


# What PostgreSQL says when it is up but will not take a connection yet (libpq gives no
# SQLSTATE for a refused connection, only the server's message).
_PASSING_REFUSALS = (
    "too many connections",
    "too many clients",
    "remaining connection slots are reserved",
    "the database system is starting up",
)


def _refused_for_now(exc: psycopg.OperationalError) -> bool:
    message = str(exc)
    return any(reason in message for reason in _PASSING_REFUSALS)


def _reusable(connection: psycopg.AsyncConnection[Any]) -> bool:
    """Idle between statements (autocommit); not broken, closed, or left mid-query by a
    cancelled request."""
    return (
        not connection.closed
        and not connection.broken
        and connection.info.transaction_status == TransactionStatus.IDLE
    )
