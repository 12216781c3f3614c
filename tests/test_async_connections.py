"""The booking endpoint's connections (paddock.async_connections) against a real PostgreSQL:
bounded, reused, replaced when broken or left mid-statement, a bounded wait, and an
unreachable server said as such."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from paddock.async_connections import AsyncConnections
from paddock.errors import Busy, Unavailable

pytestmark = pytest.mark.postgres


@pytest.fixture
def conninfo(postgres_database: str) -> str:
    return postgres_database.replace("postgresql+psycopg://", "postgresql://", 1)


async def backend_pid(connections: AsyncConnections) -> int:
    async with connections.connection() as connection:
        cursor = await connection.execute("SELECT pg_backend_pid()")
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


def test_at_most_size_connections_serve_many_concurrent_users(conninfo: str) -> None:
    async def scenario() -> tuple[set[int], int]:
        connections = AsyncConnections(conninfo, size=3)
        await connections.open()
        in_use = 0
        most = 0

        async def user() -> int:
            nonlocal in_use, most
            async with connections.connection() as connection:
                in_use += 1
                most = max(most, in_use)
                cursor = await connection.execute("SELECT pg_backend_pid(), pg_sleep(0.01)")
                row = await cursor.fetchone()
                in_use -= 1
                assert row is not None
                return int(row[0])

        pids = set(await asyncio.gather(*(user() for _ in range(30))))
        assert connections.open_connections == 3
        await connections.close()
        return pids, most

    pids, most = asyncio.run(scenario())
    assert len(pids) == 3 and most == 3


def test_a_connection_the_server_closed_is_replaced(conninfo: str) -> None:
    async def scenario() -> list[str]:
        connections = AsyncConnections(conninfo, size=1)
        await connections.open()
        first = await backend_pid(connections)
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        seen: list[str] = []
        try:
            await backend_pid(connections)  # meets the dead socket
            seen.append("answered")
        except psycopg.OperationalError:
            seen.append("failed")
        second = await backend_pid(connections)  # a new connection
        seen.append("new" if second != first else "same")
        await connections.close()
        return seen

    assert asyncio.run(scenario()) == ["failed", "new"]


def test_waiting_past_the_bound_is_busy_and_the_queue_survives(conninfo: str) -> None:
    async def scenario() -> tuple[str, int]:
        connections = AsyncConnections(conninfo, size=1, wait_seconds=0.2)
        await connections.open()
        holding = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with connections.connection():
                holding.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await holding.wait()
        try:
            await backend_pid(connections)
            outcome = "served"
        except Busy as exc:
            outcome = exc.detail
        release.set()
        await task
        pid = await backend_pid(connections)  # the one connection is back in the queue
        await connections.close()
        return outcome, pid

    outcome, pid = asyncio.run(scenario())
    assert "stayed busy for 0.2 s" in outcome and pid > 0


async def unavailable_detail(connections: AsyncConnections) -> str:
    """Ask once on fresh connections: what the Unavailable answer said."""
    await connections.open()
    try:
        await backend_pid(connections)
    except Unavailable as exc:
        return exc.detail
    finally:
        await connections.close()
    return "connected?"


def test_an_unreachable_database_is_unavailable_not_an_error(conninfo: str) -> None:
    nowhere = AsyncConnections("postgresql://postgres@127.0.0.1:1/test", size=1, connect_seconds=2)
    assert "cannot be reached" in asyncio.run(unavailable_detail(nowhere))


@pytest.fixture
def one_connection_role(conninfo: str) -> Iterator[str]:
    """The test database's conninfo as a role PostgreSQL lets hold one connection at a time,
    so that 'no free connection slot' can be had without using up the whole server's."""
    role = f"paddock_limited_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
    try:
        yield make_conninfo(conninfo, user=role)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_no_free_connection_slot_is_waited_out(one_connection_role: str) -> None:
    """The server refuses while another client holds the role's only slot; the request asks
    again and is served once the slot is freed, well inside its wait."""

    async def scenario() -> tuple[int, float]:
        connections = AsyncConnections(one_connection_role, size=1, wait_seconds=5)
        await connections.open()
        other = await psycopg.AsyncConnection.connect(one_connection_role)
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, lambda: asyncio.ensure_future(other.close()))
        started = loop.time()
        try:
            pid = await backend_pid(connections)
        finally:
            await connections.close()
        return pid, loop.time() - started

    pid, waited = asyncio.run(scenario())
    assert pid > 0 and 0.25 < waited < 5


def test_no_free_connection_slot_for_the_whole_wait_is_unavailable(
    one_connection_role: str,
) -> None:
    async def scenario() -> str:
        connections = AsyncConnections(one_connection_role, size=1, wait_seconds=0.3)
        async with await psycopg.AsyncConnection.connect(one_connection_role):
            return await unavailable_detail(connections)

    assert "no free connection for 0.3 s" in asyncio.run(scenario())


def test_a_request_cancelled_mid_statement_leaves_no_statement_or_busy_connection(
    conninfo: str,
) -> None:
    async def scenario() -> tuple[Any, int]:
        connections = AsyncConnections(conninfo, size=1)
        await connections.open()

        async def slow() -> None:
            async with connections.connection() as connection:
                await connection.execute("SELECT pg_sleep(30)")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next user is served (not queued behind the sleep), and nothing sleeps on.
        async with connections.connection() as connection:
            cursor = await connection.execute("SELECT 1")
            row = await cursor.fetchone()
        with psycopg.connect(conninfo, autocommit=True) as admin:
            sleeping = admin.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(30)%'"
            ).fetchone()
        await connections.close()
        assert row is not None and sleeping is not None
        return row[0], int(sleeping[0])

    answer, sleeping = asyncio.run(scenario())
    assert answer == 1 and sleeping == 0


def test_not_open_is_a_programming_error(conninfo: str) -> None:
    async def scenario() -> None:
        async with AsyncConnections(conninfo, size=1).connection():
            pass

    with pytest.raises(RuntimeError, match="not open"):
        asyncio.run(scenario())
