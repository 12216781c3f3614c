"""Booking on an event loop, on PostgreSQL: drafted from the caches and written by one
statement on a connection of the endpoint's own pool, with no worker thread.

The caches (product, site hours, pools' units) are held a few seconds. When they are cold or
lapse, one request per product reads them again in a worker thread while the others that
arrive meanwhile wait for it, rather than each taking a thread and a connection of its own
(a freshly started server meets its first burst of clients that way)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from paddock.async_connections import AsyncConnections
from paddock.bookings import postgres
from paddock.bookings.drafts import Draft, Guest, draft_booking, read_caches
from paddock.bookings.service import BookingResult, create_booking, created_result
from paddock.capacity import claims
from paddock.capacity.units import NotCached
from paddock.db import run_blocking, utcnow
from paddock.errors import DomainError, SoldOut

# Product code -> the read of its caches under way on this event loop.
_warming: dict[str, asyncio.Future[None]] = {}


async def create_booking_async(
    pool: AsyncConnections,
    session_factory: sessionmaker[Session],
    *,
    product_code: str,
    starts_at: datetime,
    guest: Guest,
    hold: bool = False,
    hold_minutes: int = 10,
    idempotency_key: str | None = None,
    channel: str = "api",
    actor: str = "guest",
    public_only: bool = False,
) -> BookingResult:
    """create_booking for an event loop. A retried request whose first try got through
    (rare) is answered by the synchronous path in a worker thread."""
    request: dict[str, Any] = {
        "product_code": product_code,
        "starts_at": starts_at,
        "guest": guest,
        "hold": hold,
        "hold_minutes": hold_minutes,
        "idempotency_key": idempotency_key,
        "channel": channel,
        "actor": actor,
        "public_only": public_only,
    }

    def in_a_session() -> BookingResult:
        with session_factory() as session:
            return create_booking(session, **request)

    try:
        draft, chosen = _draft(request)
    except NotCached:
        await warm_caches(session_factory, request)
        try:
            draft, chosen = _draft(request)
        except NotCached:  # lapsed again already, or invalidated: not worth a second wait
            return await run_blocking(in_a_session)
    try:
        booking_id, picks = await postgres.write_async(pool, draft, chosen)
    except postgres.DuplicateKey:
        return await run_blocking(in_a_session)
    except SoldOut:
        # A retry of a request that took the last place finds it full: it gets its booking.
        # Most sold-out answers have no booking under their key: one indexed read says so.
        if idempotency_key and await postgres.key_used_async(pool, idempotency_key):
            return await run_blocking(in_a_session)
        raise
    return created_result(draft, booking_id, picks)


def _draft(request: dict[str, Any]) -> tuple[Draft, claims.Claims]:
    draft = draft_booking(None, now=utcnow(), **request)
    return draft, draft.claims(None)


async def warm_caches(session_factory: sessionmaker[Session], request: dict[str, Any]) -> None:
    """Read what drafting this request needs into the caches, once for all the requests for
    the same product waiting at the same time."""
    code = request["product_code"]
    loop = asyncio.get_running_loop()
    under_way = _warming.get(code)
    if under_way is not None and under_way.get_loop() is loop:
        await asyncio.shield(under_way)
        return

    def read() -> None:
        with session_factory() as session:
            try:
                read_caches(session, code)
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
