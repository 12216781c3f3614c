"""Races on SQLite and PostgreSQL with real threads, real processes and a real HTTP server:
many writers compete for the last units of one slot. Exactly as many win as there are units,
every other one hears "sold out" (never a 500 or another error), no unit ends up held twice,
one idempotency key makes one booking, and a writer stuck behind a lock hears "busy, retry"."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from paddock.app import create_app
from paddock.bookings import service
from paddock.bookings.models import Booking
from paddock.capacity.models import Allocation, Unit
from paddock.catalog import service as catalog
from paddock.db import make_engine, make_session_factory
from paddock.errors import Busy, SoldOut
from paddock.settings import Settings
from tests.bookings.racing import compete, guest, process_racer
from tests.factories import MONDAY, World, at, make_world

SLOT = at(MONDAY, 10)
CARS, TAKEN = 5, 2  # five cars, two already booked: the last three are fought over
LAST = CARS - TAKEN
PADDOCK = Path(sys.executable).parent / "paddock"


def prepare(session: Session) -> World:
    world = make_world(session, cars=CARS, coaches=8, positions=8)
    for n in range(TAKEN):
        service.create_booking(session, product_code="drive", starts_at=SLOT, guest=guest(90 + n))
    return world


def assert_exactly_the_last_units_won(outcomes: list[str], session: Session) -> None:
    kinds = Counter("won" if o.startswith("P") else o.split(":")[0] for o in outcomes)
    assert kinds == {"won": LAST, "SoldOut": len(outcomes) - LAST}, outcomes
    assert_no_unit_held_twice(session)
    confirmed = session.scalar(
        select(func.count()).select_from(Booking).where(Booking.status == "confirmed")
    )
    assert confirmed == CARS


def assert_no_unit_held_twice(session: Session) -> None:
    session.rollback()
    rows = session.execute(
        select(Allocation.unit_id, Allocation.starts_at, Allocation.ends_at)
        .where(Allocation.active.is_(True))
        .order_by(Allocation.unit_id, Allocation.starts_at)
    ).all()
    for (unit_a, _, end), (unit_b, start, _) in zip(rows, rows[1:], strict=False):
        assert unit_a != unit_b or end <= start, f"unit {unit_a} is held twice"


@pytest.fixture
def racing_engine(database_url: str) -> Iterator[Engine]:
    # At most 20 connections: PostgreSQL allows 100 and other tests run alongside.
    engine = make_engine(database_url, pool_size=10, lock_timeout_ms=10_000)
    yield engine
    engine.dispose()


def test_threads_race_for_the_last_units(session: Session, racing_engine: Engine) -> None:
    prepare(session)
    outcomes = compete(racing_engine, 60, slot=SLOT)
    assert_exactly_the_last_units_won(outcomes, session)


def test_threads_race_for_many_units(session: Session, racing_engine: Engine) -> None:
    """Twelve free cars, sixty writers: all twelve are sold, none twice, and every other
    writer hears "sold out": one that lost a car to a concurrent writer tries the next, until
    none is left (it never runs out of retries and answers "busy" while capacity remains)."""
    make_world(session, cars=12, coaches=14, positions=14)
    outcomes = compete(racing_engine, 60, slot=SLOT)
    kinds = Counter("won" if o.startswith("P") else o.split(":")[0] for o in outcomes)
    assert kinds == {"won": 12, "SoldOut": 48}, outcomes
    assert_no_unit_held_twice(session)


def test_one_idempotency_key_makes_one_booking(session: Session, racing_engine: Engine) -> None:
    make_world(session, cars=3, coaches=3, positions=3)
    outcomes = compete(racing_engine, 40, slot=SLOT, key="checkout-42")
    assert len(set(outcomes)) == 1 and outcomes[0].startswith("P"), Counter(outcomes)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Booking)) == 1
    assert (
        session.scalar(
            select(func.count()).select_from(Allocation).where(Allocation.active.is_(True))
        )
        == 3
    )


# --- processes ------------------------------------------------------------------------------


def test_processes_race_for_the_last_units(database_url: str, session: Session) -> None:
    prepare(session)
    processes, threads = 3, 17
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes * threads)
    results = context.Queue()
    racers = [
        context.Process(target=process_racer, args=(database_url, SLOT, threads, barrier, results))
        for _ in range(processes)
    ]
    for racer in racers:
        racer.start()
    outcomes = [o for _ in racers for o in results.get(timeout=90)]
    for racer in racers:
        racer.join(timeout=30)
        assert racer.exitcode == 0
    assert len(outcomes) == processes * threads
    assert_exactly_the_last_units_won(outcomes, session)


# --- a real server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(database_url: str, session: Session) -> Iterator[str]:
    """`paddock serve` on a free local port, as a user starts it."""
    prepare(session)
    port = free_port()
    env = {**os.environ, "PADDOCK_DATABASE_URL": database_url, "PADDOCK_POOL_SIZE": "16"}
    env["PADDOCK_BOOKINGS_PER_ADDRESS_PER_MINUTE"] = "0"  # 70 bookings from one address
    proc = subprocess.Popen(
        [str(PADDOCK), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # generous: a loaded machine imports slowly
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post_all(
    base: str, bodies: list[dict[str, object]], headers: dict[str, str]
) -> tuple[list[int], list[str]]:
    """All bodies posted at once from their own threads: the statuses and the refs made."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    refs: list[str] = []
    problems: list[str] = []  # anything but "sold out", to say what went wrong
    lock = threading.Lock()

    with httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=100)) as c:

        def one(body: dict[str, object]) -> None:
            barrier.wait()
            response = c.post("/api/v1/bookings", json=body, headers=headers)
            with lock:
                statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    refs.append(response.json()["ref"])
                else:
                    assert response.headers["content-type"] == "application/problem+json"
                    if response.status_code != 409:
                        problems.append(response.json().get("detail", ""))

        workers = [threading.Thread(target=one, args=(b,)) for b in bodies]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    if problems:
        print("unexpected answers:", Counter(problems))
    return statuses, refs


def test_http_clients_race_for_the_last_units(server: str, session: Session) -> None:
    bodies = [
        {
            "product": "drive",
            "starts_at": SLOT.isoformat(),
            "guest": {"name": f"Racer {n:02d}", "email": f"racer{n}@example.com"},
        }
        for n in range(50)
    ]
    statuses, _ = post_all(server, bodies, {})
    assert Counter(statuses) == {201: LAST, 409: 50 - LAST}, Counter(statuses)
    assert_exactly_the_last_units_won(["P"] * LAST + ["SoldOut"] * (50 - LAST), session)
    # The same request retried by 20 impatient clients with one key: one booking.
    other = {**bodies[0], "starts_at": at(MONDAY, 14).isoformat()}
    statuses, refs = post_all(server, [other] * 20, {"Idempotency-Key": "retry-storm-1"})
    assert statuses.count(201) == 1 and statuses.count(200) == 19, Counter(statuses)
    assert len(set(refs)) == 1
    session.rollback()
    at_two = session.scalar(
        select(func.count()).select_from(Booking).where(Booking.starts_at == at(MONDAY, 14))
    )
    assert at_two == 1


# --- busy is not sold out -------------------------------------------------------------------


class Blocker:
    """Another writer holding the lock these bookings need, for as long as the test likes."""

    def __init__(self, url: str, world: World) -> None:
        self.url = url
        self.world = world
        self.conn: sqlite3.Connection | psycopg.Connection[object] | None = None

    def __enter__(self) -> Blocker:
        if self.url.startswith("sqlite"):
            conn = sqlite3.connect(self.url.split("///", 1)[1], isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, held
            self.conn = conn
            return self
        # PostgreSQL: an uncommitted booking of every car at that time. A writer that picks a
        # car waits on it at the exclusion constraint.
        pg = psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"))
        for car in self.world.units["car"]:
            pg.execute(
                "INSERT INTO allocation (engagement_kind, engagement_id, unit_id, pool_id, "
                "starts_at, ends_at, active) VALUES ('booking', 0, %s, %s, %s, %s, true)",
                (car.id, self.world.pools["car"].id, SLOT, SLOT + timedelta(minutes=90)),
            )
        self.conn = pg
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.conn is not None
        self.conn.rollback()
        self.conn.close()


def test_a_lock_held_too_long_is_busy_not_sold_out(database_url: str, session: Session) -> None:
    world = make_world(session, cars=2)
    quick = Settings(database_url=database_url, environment="test", lock_timeout_ms=100)
    engine = make_engine(database_url, pool_size=2, lock_timeout_ms=100)
    body = {
        "product": "drive",
        "starts_at": SLOT.isoformat(),
        "guest": {"name": "Ann Lee", "email": "ann@example.com"},
    }
    try:
        with TestClient(create_app(quick, sweeper=False)) as client:
            with Blocker(database_url, world):
                with make_session_factory(engine)() as other:
                    with pytest.raises(Busy):
                        service.create_booking(
                            other, product_code="drive", starts_at=SLOT, guest=guest(1)
                        )
                response = client.post("/api/v1/bookings", json=body)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "1"
                problem = response.json()
                assert problem["type"].endswith("/busy") and problem["title"] == "Busy, retry"
            # Once the other writer is done the same request is admitted: it was never full.
            catalog.invalidate_cache()
            retried = client.post("/api/v1/bookings", json=body)
            assert retried.status_code == 201, retried.text
    finally:
        engine.dispose()
    assert_no_unit_held_twice(session)


def test_busy_then_retry_from_many_threads_never_errors(
    database_url: str, session: Session
) -> None:
    """With a tiny lock timeout and a slow competitor, writers hear busy or succeed; none
    fails otherwise, and capacity still holds."""
    prepare(session)
    engine = make_engine(database_url, pool_size=10, lock_timeout_ms=50)
    try:
        outcomes = compete(engine, 30, slot=SLOT)
    finally:
        engine.dispose()
    kinds = Counter("won" if o.startswith("P") else o.split(":")[0] for o in outcomes)
    assert set(kinds) <= {"won", "SoldOut", "Busy"}, outcomes
    assert kinds["won"] <= LAST
    assert_no_unit_held_twice(session)


def test_a_sold_out_answer_leaves_no_read_open_for_the_next_writer(database_url: str) -> None:
    """On SQLite a probe that stopped at the first of a unit's allocations kept a read open on
    its connection while the sold-out error (and its frames) lived on; the pool gave the
    connection to the next writer, whose BEGIN IMMEDIATE failed at once if anyone had
    committed meanwhile: 'busy' in one of 640 contention answers of the benchmark."""
    engine = make_engine(database_url, pool_size=1, lock_timeout_ms=2000)
    other = make_engine(database_url, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            coach = make_world(session, cars=1, coaches=1, positions=1).units["coach"][0].id
            for hours in (0, 4):  # two allocations of each unit after 10:00: probes stop at one
                service.create_booking(
                    session,
                    product_code="drive",
                    starts_at=SLOT + timedelta(hours=hours),
                    guest=guest(hours),
                )
        with factory() as session, pytest.raises(SoldOut) as refused:
            service.create_booking(session, product_code="drive", starts_at=SLOT, guest=guest(2))
        with make_session_factory(other)() as session:  # a writer elsewhere commits
            session.execute(update(Unit).where(Unit.id == coach).values(label="Coach 1b"))
            session.commit()
        with factory() as session:  # the refusal still alive: the next writer books
            result = service.create_booking(
                session, product_code="drive", starts_at=SLOT + timedelta(hours=2), guest=guest(3)
            )
        assert result.booking.ref and refused.value is not None
    finally:
        engine.dispose()
        other.dispose()
