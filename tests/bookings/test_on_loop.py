"""The booking endpoint's event-loop path on PostgreSQL (paddock.bookings.on_loop): a burst of
requests meeting cold caches reads them once, in one worker thread, and every request is
then written on the loop's own connections."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paddock.async_connections import AsyncConnections
from paddock.bookings import on_loop
from paddock.bookings.models import Booking
from paddock.bookings.service import BookingRequest, Guest
from paddock.capacity import service as capacity
from paddock.catalog import service as catalog
from paddock.db import async_pool
from paddock.errors import Invalid, SoldOut
from tests.factories import MONDAY, at, make_world

pytestmark = pytest.mark.postgres

SLOT = at(MONDAY, 10)


def cold_world(database_url: str, session: Session, units: int) -> None:
    """A world of `units` cars, coaches and positions, with nothing of it cached."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the event-loop path is PostgreSQL's")
    make_world(session, cars=units, coaches=units, positions=units)
    session.commit()
    catalog.invalidate_cache()
    capacity.invalidate_cache()


class CountingFactory:
    """The session factory, counting the sessions opened (each is a worker thread's read)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.opened = 0

    def __call__(self) -> Session:
        self.opened += 1
        return self.factory()


def burst(url: str, factory: CountingFactory, starts: list[Any]) -> list[str]:
    async def scenario() -> list[str]:
        pool = async_pool(url, size=4, lock_timeout_ms=5000)
        assert isinstance(pool, AsyncConnections)
        await pool.open()

        async def one(n: int, starts_at: Any) -> str:
            try:
                await on_loop.create_booking_async(
                    pool,
                    factory,  # type: ignore[arg-type]
                    BookingRequest(
                        product_code="drive",
                        starts_at=starts_at,
                        guest=Guest(f"Guest {n}", f"guest{n}@example.com"),
                    ),
                )
            except (SoldOut, Invalid) as exc:
                return type(exc).__name__
            return "booked"

        try:
            return list(await asyncio.gather(*(one(n, s) for n, s in enumerate(starts))))
        finally:
            await pool.close()

    return asyncio.run(scenario())


def test_a_burst_on_cold_caches_reads_them_once(
    database_url: str, session: Session, session_factory: sessionmaker[Session]
) -> None:
    cold_world(database_url, session, 30)
    factory = CountingFactory(session_factory)
    outcomes = burst(database_url, factory, [SLOT] * 24)
    assert Counter(outcomes) == {"booked": 24}
    assert factory.opened == 1
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Booking)) == 24


def test_a_request_off_the_grid_still_warms_the_caches_for_the_others(
    database_url: str, session: Session, session_factory: sessionmaker[Session]
) -> None:
    """The first request's own fault is its answer alone: the others are booked."""
    cold_world(database_url, session, 10)
    factory = CountingFactory(session_factory)
    off_grid = SLOT.replace(minute=7)
    outcomes = burst(database_url, factory, [off_grid] + [SLOT] * 5)
    assert outcomes == ["Invalid"] + ["booked"] * 5
    assert factory.opened == 1
