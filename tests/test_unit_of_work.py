"""The unit of work: one transaction per write, run again after a lost race or a deadlock,
"busy" (never a 500) when a lock wait runs out. Raced with real threads on both databases."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from paddock.db import make_engine, make_session_factory
from paddock.errors import Busy
from paddock.throttle import throttle_counter
from paddock.unit_of_work import MAX_ATTEMPTS, LostRace, run_write

_t = throttle_counter.c


def _add(session: Session, bucket: str, hits: int = 0) -> None:
    session.execute(
        insert(throttle_counter).values(bucket=bucket, window_start=0, expires_at=0, hits=hits)
    )


def _hits(session: Session, bucket: str) -> int | None:
    found = session.scalar(select(_t.hits).where(_t.bucket == bucket))
    session.rollback()
    return found


def _bump(session: Session, bucket: str) -> None:
    session.execute(
        text("UPDATE throttle_counter SET hits = hits + 1 WHERE bucket = :b"), {"b": bucket}
    )


def test_a_lost_race_is_rolled_back_and_run_again(session: Session) -> None:
    attempts: list[int] = []

    def write() -> str:
        attempts.append(1)
        _add(session, f"attempt-{len(attempts)}")
        if len(attempts) < 3:
            raise LostRace()
        return "done"

    assert run_write(session, write) == "done"
    assert len(attempts) == 3
    # Only the last attempt's row is there: the two lost ones were rolled back whole.
    assert _hits(session, "attempt-1") is None
    assert _hits(session, "attempt-2") is None
    assert _hits(session, "attempt-3") == 0


def test_a_race_lost_every_time_is_busy_and_writes_nothing(session: Session) -> None:
    attempts: list[int] = []

    def write() -> None:
        attempts.append(1)
        _add(session, f"lost-{len(attempts)}")
        raise LostRace()

    with pytest.raises(Busy):
        run_write(session, write)
    assert len(attempts) == MAX_ATTEMPTS
    rows = session.scalars(select(_t.bucket).where(_t.bucket.like("lost-%"))).all()
    assert rows == []


def test_other_errors_roll_back_and_pass_through(session: Session) -> None:
    def write() -> None:
        _add(session, "half")
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        run_write(session, write)
    assert _hits(session, "half") is None


def test_concurrent_writers_each_apply_once(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        run_write(session, lambda: _add(session, "shared"))
    writers, each = 6, 15
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            with session_factory() as own:
                for _ in range(each):
                    run_write(own, lambda: _bump(own, "shared"))
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_factory() as session:
        assert _hits(session, "shared") == writers * each


def _postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's deadlocks and lock timeouts")


def test_a_deadlock_victim_runs_again_and_both_writes_land(
    session_factory: sessionmaker[Session],
) -> None:
    """Two writers lock rows a and b in opposite orders: PostgreSQL rolls one back to break
    the deadlock, and the unit of work runs it again, so both increments land. (SQLite has
    one writer at a time: no deadlock.)"""
    _postgres_only(session_factory.kw["bind"])
    with session_factory() as session:
        run_write(session, lambda: (_add(session, "a"), _add(session, "b")))
    both_hold_one = threading.Barrier(2)
    runs = {"ab": 0, "ba": 0}
    errors: list[BaseException] = []

    def worker(first: str, second: str) -> None:
        with session_factory() as own:

            def write() -> None:
                runs[first + second] += 1
                _bump(own, first)
                if runs[first + second] == 1:
                    both_hold_one.wait(timeout=10)
                _bump(own, second)

            try:
                run_write(own, write)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=("a", "b")),
        threading.Thread(target=worker, args=("b", "a")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(runs.values()) == [1, 2]  # exactly one victim, run once more
    with session_factory() as session:
        assert _hits(session, "a") == 2
        assert _hits(session, "b") == 2


def test_a_lock_wait_that_runs_out_is_busy(engine: Engine, database_url: str) -> None:
    _postgres_only(engine)
    impatient = make_engine(database_url, pool_size=1, lock_timeout_ms=200)
    try:
        with Session(engine) as session:
            run_write(session, lambda: _add(session, "locked"))
        with engine.connect() as holder:
            holder.execute(
                text("SELECT 1 FROM throttle_counter WHERE bucket = 'locked' FOR UPDATE")
            )
            with make_session_factory(impatient)() as session:
                with pytest.raises(Busy):
                    run_write(session, lambda: _bump(session, "locked"))
            holder.rollback()
        with Session(engine) as session:
            assert _hits(session, "locked") == 0
    finally:
        impatient.dispose()
