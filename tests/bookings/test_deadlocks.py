"""Writers that wait on each other on PostgreSQL: a deadlock's victim runs again instead of
answering 'busy', and an allocation inserted against a concurrent writer of the same unit
waits for it and then knows whether the unit is taken. Both made for real, on two
connections (SQLite has one writer at a time, so neither can happen there)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from paddock.bookings import service
from paddock.bookings.service import run_write
from paddock.capacity import service as capacity
from tests.factories import MONDAY, at, make_world

WAIT = 10  # seconds: a generous bound for each hand-over between the two connections
TOUCH = text("UPDATE unit SET label = label WHERE id = :id")  # takes the row's lock


def _postgres_only(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: no two transactions wait on each other")


def test_a_deadlock_victim_runs_again_and_answers(session: Session, engine: Engine) -> None:
    _postgres_only(session)
    world = make_world(session, cars=2)
    first, second = (u.id for u in world.units["car"])
    session.commit()
    helper_has_second = threading.Event()
    we_have_first = threading.Event()
    helper_errors: list[BaseException] = []

    def helper() -> None:
        # Locks the rows in the other order; its own deadlock check waits 30 s, so the
        # transaction under test (100 ms) is the one PostgreSQL rolls back.
        try:
            with engine.connect() as conn, conn.begin():
                conn.exec_driver_sql("SET LOCAL deadlock_timeout = '30s'")
                conn.execute(TOUCH, {"id": second})
                helper_has_second.set()
                assert we_have_first.wait(WAIT)
                conn.execute(TOUCH, {"id": first})
        except BaseException as exc:  # reported by the main thread
            helper_errors.append(exc)

    attempts: list[int] = []

    def work() -> str:
        attempts.append(1)
        connection = session.connection()
        connection.exec_driver_sql("SET LOCAL deadlock_timeout = '100ms'")
        connection.execute(TOUCH, {"id": first})
        if len(attempts) == 1:
            we_have_first.set()
            assert helper_has_second.wait(WAIT)
        connection.execute(TOUCH, {"id": second})
        return "written"

    thread = threading.Thread(target=helper)
    thread.start()
    try:
        assert run_write(session, work) == "written"
    finally:
        we_have_first.set()
        thread.join(WAIT)
    assert not helper_errors
    assert len(attempts) == 2  # the first run was the deadlock's victim, the second wrote


@pytest.mark.parametrize("other_commits", [True, False], ids=["other-commits", "other-aborts"])
def test_insert_unless_taken_waits_for_a_concurrent_writer_of_the_unit(
    session: Session, engine: Engine, other_commits: bool
) -> None:
    _postgres_only(session)
    world = make_world(session, cars=1)
    car = world.units["car"][0]
    session.commit()
    start = at(MONDAY, 10)

    def row(engagement_id: int, offset: timedelta) -> dict[str, Any]:
        return {
            "engagement_kind": "test",
            "engagement_id": engagement_id,
            "unit_id": car.id,
            "pool_id": world.pools["car"].id,
            "starts_at": start + offset,
            "ends_at": start + offset + timedelta(minutes=90),
            "active": True,
            "expires_at": None,
        }

    outcome: list[bool] = []
    started = threading.Event()

    def contender() -> None:
        with Session(engine) as own:
            started.set()
            outcome.append(capacity.insert_unless_taken(own, row(2, timedelta(minutes=30))))
            own.commit()

    with Session(engine) as other:
        # The other writer holds an uncommitted allocation of the car that overlaps.
        assert capacity.insert_unless_taken(other, row(1, timedelta(0)))
        thread = threading.Thread(target=contender)
        thread.start()
        assert started.wait(WAIT)
        thread.join(0.3)
        assert thread.is_alive(), "the contender should wait for the other's transaction"
        if other_commits:
            other.commit()
        else:
            other.rollback()
        thread.join(WAIT)
    assert outcome == [not other_commits]
    live = session.execute(
        text("SELECT engagement_id FROM allocation WHERE unit_id = :u AND active"), {"u": car.id}
    ).scalars()
    assert sorted(live) == ([1] if other_commits else [2])


def test_a_retry_waits_for_its_key_holding_nothing_then_gets_the_first_booking(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    """Two writers of one Idempotency-Key: the second queues before taking any unit (so it
    cannot close a cycle with writers of those units), then answers with the first booking."""
    _postgres_only(session)
    make_world(session, cars=2)
    session.commit()
    slot = at(MONDAY, 10)
    first_written = threading.Event()
    let_first_commit = threading.Event()
    results: dict[str, Any] = {}

    def hold_open(_session: Session, booking_id: int) -> None:
        # Inside the first writer's transaction, after booking_create(): the key is held.
        first_written.set()
        assert let_first_commit.wait(WAIT)

    def writer(name: str, hook: Any) -> None:
        try:
            with session_factory() as own:
                results[name] = service.create_booking(
                    own,
                    product_code="drive",
                    starts_at=slot,
                    guest=service.Guest("Ann Lee", "ann@example.com"),
                    idempotency_key="pay-7",
                    on_admitted=hook,
                )
        except BaseException as exc:  # reported by the main thread
            results[name] = exc

    first = threading.Thread(target=writer, args=("first", hold_open))
    first.start()
    assert first_written.wait(WAIT)
    second = threading.Thread(target=writer, args=("second", None))
    second.start()
    waiting = None
    for _ in range(200):  # until the second writer is seen waiting (at most WAIT seconds)
        waiting = session.execute(
            text(
                "SELECT wait_event, backend_xid FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).first()
        session.rollback()
        if waiting is not None:
            break
        threading.Event().wait(WAIT / 200)
    let_first_commit.set()
    first.join(WAIT)
    second.join(WAIT)
    assert waiting is not None, "the second writer never waited"
    assert waiting.wait_event == "advisory" and waiting.backend_xid is None  # holds nothing
    assert isinstance(results["first"], service.BookingResult), results["first"]
    assert isinstance(results["second"], service.BookingResult), results["second"]
    assert results["second"].booking.ref == results["first"].booking.ref
    assert session.execute(text("SELECT count(*) FROM booking")).scalar_one() == 1


@pytest.mark.parametrize("b_minutes", [120, 3 * 24 * 60], ids=["hours", "days"])
def test_two_quick_takes_of_one_unit_never_deadlock(
    session: Session, engine: Engine, b_minutes: int
) -> None:
    """Writer B's quick take of a car that writer A holds uncommitted at an overlapping time
    queues (on the car's hour, or for a take of days on the car as a whole) holding no row of
    it, so A can go on writing over B's interval. (With two plain INSERTs B's row was in the
    table before the exclusion check: A waited on B and B on A, a deadlock broken after
    deadlock_timeout, which came one after another under contention.)"""
    _postgres_only(session)
    world = make_world(session, cars=1)
    car, pool = world.units["car"][0].id, world.pools["car"].id
    session.commit()
    ten = at(MONDAY, 10)

    def take(conn: Any, engagement: int, start: Any, minutes: int) -> Any:
        return conn.exec_driver_sql(
            "SELECT taken FROM capacity_take('test', %(e)s, NULL, now(), ARRAY[%(p)s],"
            " ARRAY[1], ARRAY[%(s)s::timestamptz], ARRAY[%(f)s::timestamptz], ARRAY[%(u)s],"
            " ARRAY[1, 2], false)",
            {
                "e": engagement,
                "p": pool,
                "s": start,
                "f": start + timedelta(minutes=minutes),
                "u": car,
            },
        ).scalar_one()

    outcome: list[str] = []

    def writer_b() -> None:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SET LOCAL deadlock_timeout = '100ms'")
            try:
                take(conn, 2, ten, b_minutes)  # from 10:00, over A's 10:00-11:00
                outcome.append("taken")
            except Exception as exc:  # judged below
                outcome.append(getattr(getattr(exc, "orig", None), "sqlstate", None) or repr(exc))

    with engine.connect() as a, a.begin():
        a.exec_driver_sql("SET LOCAL deadlock_timeout = '100ms'")
        assert take(a, 1, ten, 60) == [car]  # 10:00-11:00, uncommitted
        thread = threading.Thread(target=writer_b)
        thread.start()
        for _ in range(200):  # until B is seen waiting on A
            waiting = session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            session.rollback()
            if waiting:
                break
            threading.Event().wait(WAIT / 200)
        assert waiting, "writer B never waited for A"
        # A goes on: 11:00-12:00 overlaps only B's interval.
        assert take(a, 3, ten + timedelta(hours=1), 60) == [car]
    thread.join(WAIT)
    assert outcome == ["23P01"]  # B: taken meanwhile, ask again carefully; no deadlock


def test_a_quick_take_locks_its_hours_or_for_days_its_unit(
    session: Session, engine: Engine
) -> None:
    """A take of hours locks each (unit, hour) and shares the unit's lock; a take of days (a
    dealer's place for a month) locks the unit alone, not an hour each."""
    _postgres_only(session)
    world = make_world(session, cars=2)
    short_car, long_car = (u.id for u in world.units["car"])
    pool = world.pools["car"].id
    session.commit()
    ten = at(MONDAY, 10)
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql(
            "SELECT capacity_take('test', 1, NULL, now(), ARRAY[%(p)s, %(p)s], ARRAY[1, 1],"
            " ARRAY[%(s)s::timestamptz, %(s)s::timestamptz],"
            " ARRAY[%(s)s::timestamptz + interval '90 minutes',"
            "       %(s)s::timestamptz + interval '30 days'],"
            " ARRAY[%(a)s, %(b)s], ARRAY[1, 2, 3], false)",
            {"p": pool, "s": ten, "a": short_car, "b": long_car},
        )
        held = conn.exec_driver_sql(
            "SELECT mode, count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND pid = pg_backend_pid() GROUP BY mode"
        ).all()
    # 10:00-11:30: hours 10 and 11 and the car shared; the month: its car exclusively.
    assert dict(held) == {"ExclusiveLock": 3, "ShareLock": 1}
