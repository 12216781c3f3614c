"""The booking endpoint's way to book, chosen once when the app starts (`for_app`):

- PostgreSQL (`OnLoop`): drafted on the event loop from the cached snapshot and written by
  one statement on a connection of the endpoint's own pool, with no worker thread.
- SQLite (`InThread`): the whole use case in a worker thread, in a session (its write lock
  is a blocking wait).

The snapshot's caches (product, site hours, pools' units) are held a few seconds. When they
are cold or lapse, one request per product reads them again in a worker thread while the
others that arrive meanwhile wait for it, rather than each taking a thread and a connection
of its own (a freshly started server meets its first burst of clients that way)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from paddock.async_connections import AsyncConnections
from paddock.bookings import postgres
from paddock.bookings.drafts import BookingRequest, cached_snapshot, draft, snapshot
from paddock.bookings.service import BookingResult, book, created_result
from paddock.db import run_blocking, utcnow
from paddock.errors import DomainError, SoldOut


class EndpointBookings(Protocol):
    async def create(self, request: BookingRequest) -> BookingResult: ...


def for_app(
    session_factory: sessionmaker[Session], pool: AsyncConnections | None
) -> EndpointBookings:
    """The endpoint's way: on the loop when the app has its PostgreSQL connections (see
    db.async_pool), else in a worker thread."""
    return InThread(session_factory) if pool is None else OnLoop(pool, session_factory)


class InThread:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    async def create(self, request: BookingRequest) -> BookingResult:
        return await run_blocking(self.in_a_session, request)

    def in_a_session(self, request: BookingRequest) -> BookingResult:
        with self.session_factory() as session:
            return book(session, request)


class OnLoop(InThread):
    def __init__(self, pool: AsyncConnections, session_factory: sessionmaker[Session]) -> None:
        super().__init__(session_factory)
        self.pool = pool

    async def create(self, request: BookingRequest) -> BookingResult:
        """A retried request whose first try got through (rare) is answered by the
        synchronous path in a worker thread."""
        return await create_booking_async(self.pool, self.session_factory, request)


# Product code -> the read of its caches under way on this event loop.
_warming: dict[str, asyncio.Future[None]] = {}


async def create_booking_async(
    pool: AsyncConnections, session_factory: sessionmaker[Session], request: BookingRequest
) -> BookingResult:
    """`service.book` for an event loop, on PostgreSQL."""
    seen = cached_snapshot(request)
    if seen is None:
        await warm_caches(session_factory, request)
        seen = cached_snapshot(request)
        if seen is None:  # lapsed again already, or invalidated: not worth a second wait
            return await InThread(session_factory).create(request)
    drafted = draft(request, seen, utcnow())
    try:
        booking_id, picks = await postgres.write_async(pool, drafted)
    except postgres.DuplicateKey:
        return await InThread(session_factory).create(request)
    except SoldOut:
        # A retry of a request that took the last place finds it full: it gets its booking.
        # Most sold-out answers have no booking under their key: one indexed read says so.
        key = request.idempotency_key
        if key and await postgres.key_used_async(pool, key):
            return await InThread(session_factory).create(request)
        raise
    return created_result(drafted, booking_id, picks)


async def warm_caches(session_factory: sessionmaker[Session], request: BookingRequest) -> None:
    """Read the request's snapshot into the caches, once for all the requests for the same
    product waiting at the same time."""
    code = request.product_code
    loop = asyncio.get_running_loop()
    under_way = _warming.get(code)
    if under_way is not None and under_way.get_loop() is loop:
        await asyncio.shield(under_way)
        return

    def read() -> None:
        with session_factory() as session:
            try:
                snapshot(session, request)
            except DomainError:  # no such product: drafting says so
                pass
            finally:
                session.rollback()

    reading = asyncio.ensure_future(run_blocking(read))
    _warming[code] = reading
    try:
        await asyncio.shield(reading)
    finally:
        if _warming.get(code) is reading:
            del _warming[code]
