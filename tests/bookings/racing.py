"""Writers racing for one slot, for the race tests: in threads of the test process and in
spawned processes. Kept light on purpose: a spawned process imports only this module."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from paddock.bookings import service
from paddock.db import make_engine, make_session_factory


def guest(n: int) -> service.Guest:
    return service.Guest(f"Racer {n:02d}", f"racer{n}@example.com")


def compete(
    engine: Engine,
    threads: int,
    *,
    slot: datetime,
    key: str | None = None,
    barrier: Any = None,
) -> list[str]:
    """`threads` writers released at once, each with its own session; returns what each got:
    a booking ref, or the error's name and message."""
    factory = make_session_factory(engine)
    start = barrier or threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        with factory() as session:
            start.wait()
            try:
                result = service.create_booking(
                    session,
                    product_code="drive",
                    starts_at=slot,
                    guest=guest(0 if key else n),
                    idempotency_key=key,
                )
                outcome = result.booking.ref
            except Exception as exc:  # every outcome is recorded and judged by the test
                outcome = type(exc).__name__ + ": " + str(exc)[:200]
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=one, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def process_racer(url: str, slot: datetime, threads: int, barrier: Any, results: Any) -> None:
    """One process of the race: its own engine and caches, several threads."""
    engine = make_engine(url, pool_size=5, lock_timeout_ms=10_000)
    try:
        results.put(compete(engine, threads, slot=slot, barrier=barrier))
    finally:
        engine.dispose()
