"""Balanced accepts (serving.py): workers sharing one listening socket split a burst of
connections evenly, serve every one, and stop accepting when closed. Real sockets, one event
loop per thread standing in for a worker process."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from paddock import serving


class Echo(asyncio.Protocol):
    def __init__(self, served: list[int], worker: int) -> None:
        self.served, self.worker = served, worker

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.served.append(self.worker)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Worker(threading.Thread):
    """An event loop (the one `paddock serve` gives uvicorn) serving the shared socket."""

    def __init__(self, sock: socket.socket, number: int, served: list[int]) -> None:
        super().__init__(daemon=True)
        self.loop = serving.new_event_loop()
        self.sock, self.number, self.served = sock, number, served
        self.ready = threading.Event()
        self.server: Any = None  # a serving.BalancedAcceptor once started

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            factory: Callable[[], asyncio.BaseProtocol] = lambda: Echo(self.served, self.number)  # noqa: E731
            self.server = await self.loop.create_server(factory, sock=self.sock, backlog=128)
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def call(self, fn: Callable[[], object]) -> None:
        done = threading.Event()

        def run() -> None:
            fn()
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(5)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(5)


@contextmanager
def workers(count: int) -> Iterator[tuple[int, list[Worker], list[int]]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # as uvicorn's supervisor does: bound, listened to by each
    served: list[int] = []
    pool = [Worker(sock, n, served) for n in range(count)]
    for worker in pool:
        worker.start()
        assert worker.ready.wait(5)
    try:
        yield sock.getsockname()[1], pool, served
    finally:
        for worker in pool:
            worker.stop()
        sock.close()


def echo(conn: socket.socket, text: bytes) -> bytes:
    conn.sendall(text)
    return conn.recv(100)


def test_a_burst_of_connections_is_split_evenly_and_each_is_served() -> None:
    with workers(2) as (port, pool, served):
        for _ in range(3):
            conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(16)]
            try:
                assert [echo(c, b"ping %d" % i) for i, c in enumerate(conns)] == [
                    b"ping %d" % i for i in range(16)
                ]
                counts = sorted(served.count(n) for n in range(2))
                assert sum(counts) == 16
                # One loop left alone takes a whole burst (16/0); balanced, neither has more
                # than 11.
                assert counts[0] >= 5, counts
                assert all(w.server is not None and w.server.is_serving() for w in pool)
            finally:
                for c in conns:
                    c.close()
            served.clear()
            # Closed connections stop counting before the next burst.
            for worker in pool:
                server = worker.server
                assert isinstance(server, serving.BalancedAcceptor)
                for _ in range(100):
                    if server.live_connections() == 0:
                        break
                    threading.Event().wait(0.02)
                assert server.live_connections() == 0


def test_a_closed_worker_accepts_no_more_and_the_others_serve_on() -> None:
    with workers(2) as (port, pool, served):
        first = pool[0].server
        assert isinstance(first, serving.BalancedAcceptor)
        pool[0].call(first.close)
        assert not first.is_serving() and first.sockets == ()
        conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
        try:
            assert all(echo(c, b"x") == b"x" for c in conns)
            assert served == [1] * 6
        finally:
            for c in conns:
                c.close()


def test_a_server_without_a_shared_socket_is_the_loops_own() -> None:
    loop = serving.new_event_loop()
    try:
        server = loop.run_until_complete(
            loop.create_server(asyncio.Protocol, host="127.0.0.1", port=0)
        )
        assert not isinstance(server, serving.BalancedAcceptor)
        server.close()
    finally:
        loop.close()
