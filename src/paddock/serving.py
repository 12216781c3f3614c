"""Balanced accepts for `paddock serve --workers N`.

uvicorn's workers share one listening socket. Left to itself, the event loop that wakes first
accepts every connection waiting, so a burst (a load balancer or client opening its pool of
keep-alive connections) lands on one worker. That worker then has one core for all of them
while the others idle: the bench saw 16 connections split 16/0, 15/1, 14/2 and throughput
fall to 55-75% of an even split.

Here each worker accepts one connection at a time, and a worker with more live connections
waits a little longer before trying. When a connection arrives every worker is woken, and
the least busy one takes it. No state is shared between the processes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# A worker with k live connections waits k * STEP (at most MAX_WAIT) before taking one more.
STEP_SECONDS = 0.001
MAX_WAIT_SECONDS = 0.02
# Closed connections leave the count when it is next recounted, at most this often.
PRUNE_SECONDS = 0.05
# Out of file descriptors or memory: wait before trying again (as asyncio's own server does).
RESOURCE_BACKOFF_SECONDS = 0.1

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


class BalancedAcceptor:
    """Serves one shared listening socket, one accept at a time, in place of the loop's own
    server (uvicorn uses `close`, `wait_closed`, `sockets` and `is_serving`)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: ProtocolFactory,
        sock: socket.socket,
        backlog: int,
    ) -> None:
        self._loop = loop
        self._factory = protocol_factory
        self._sock = sock
        self._fd = sock.fileno()
        self._transports: set[asyncio.BaseTransport] = set()
        self._connecting = 0  # accepted, not yet handed to a transport
        self._pruned_at = 0.0
        self._serving = True
        self._waiting = False
        sock.setblocking(False)
        sock.listen(backlog)  # uvicorn binds the shared socket; the server listens
        loop.add_reader(self._fd, self._readable)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self._sock,) if self._serving else ()

    def is_serving(self) -> bool:
        return self._serving

    def live_connections(self) -> int:
        self._transports = {t for t in self._transports if not t.is_closing()}
        self._pruned_at = time.monotonic()
        return len(self._transports) + self._connecting

    def _load(self) -> int:
        """live_connections(), recounted at most every PRUNE_SECONDS: with thousands of
        connections open the wait is at its cap anyway, and a recount costs one pass."""
        if time.monotonic() - self._pruned_at < PRUNE_SECONDS:
            return len(self._transports) + self._connecting
        return self.live_connections()

    def close(self) -> None:
        if self._serving:
            self._serving = False
            if not self._waiting:
                self._loop.remove_reader(self._fd)

    async def wait_closed(self) -> None:
        return None

    def _readable(self) -> None:
        wait = min(self._load() * STEP_SECONDS, MAX_WAIT_SECONDS)
        if wait == 0:
            self._accept_one()
            return
        self._pause(wait)

    def _pause(self, seconds: float) -> None:
        self._loop.remove_reader(self._fd)
        self._waiting = True
        self._loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        self._waiting = False
        if not self._serving:
            return
        self._loop.add_reader(self._fd, self._readable)
        self._accept_one()

    def _accept_one(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it, or the client gave up
        except OSError as exc:
            # Out of descriptors or memory, or worse: never spin on a socket that stays ready.
            log.error("cannot accept a connection (%s); pausing accepts", exc)
            if not self._waiting:
                self._pause(RESOURCE_BACKOFF_SECONDS)
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connecting += 1
        self._loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        try:
            transport, _ = await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:
            conn.close()
            return
        finally:
            self._connecting -= 1
        self._transports.add(transport)


def _balanced(base: type[asyncio.AbstractEventLoop]) -> type[asyncio.AbstractEventLoop]:
    class BalancedLoop(base):  # type: ignore[valid-type,misc]
        """The loop with `create_server(sock=...)` (uvicorn's workers) served balanced."""

        async def create_server(
            self, protocol_factory: ProtocolFactory, *args: Any, **kwargs: Any
        ) -> Any:
            sock: socket.socket | None = kwargs.get("sock")
            if (
                args
                or sock is None
                or sock.family not in (socket.AF_INET, socket.AF_INET6)
                or kwargs.get("ssl") is not None
            ):
                return await super().create_server(protocol_factory, *args, **kwargs)
            return BalancedAcceptor(self, protocol_factory, sock, kwargs.get("backlog", 100))

    return BalancedLoop


def _base_loop() -> type[asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # uvicorn without its standard extras
        return asyncio.SelectorEventLoop
    return uvloop.Loop


_LOOP = _balanced(_base_loop())


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's `loop=` factory (uvloop when installed, as uvicorn's own choice would be)."""
    return _LOOP()
