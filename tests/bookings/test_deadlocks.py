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
from sqlalchemy.orm import Session

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
