"""The shared throttle (paddock/throttle.py) on SQLite and PostgreSQL: slots per window, taken
atomically by racing threads and processes, all-or-none across buckets, given back, purged;
the in-process tally of the booking route merged across two tallies (migration 0011:
tests/test_migrations.py)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from paddock import throttle
from paddock.db import make_engine, make_session_factory
from paddock.throttle import Limit, LocalTally, throttle_counter

NOW = 1_800_000_030.0  # 30 s into a minute (and 1_800_000_000 is a multiple of 60 and 300)


def test_slots_per_window_and_retry_after(session_factory: sessionmaker[Session]) -> None:
    for n in range(3):
        assert throttle.hit(session_factory, "k", 3, 60, now=NOW + n) == 0
    assert throttle.check(session_factory, "k", 3, 60, now=NOW + 3) == 27
    assert throttle.hit(session_factory, "k", 3, 60, now=NOW + 3) == 27
    assert throttle.hit(session_factory, "k", 3, 60, now=NOW + 29.5) == 1
    # A refused hit is not counted; the next window starts again, other keys are apart.
    assert throttle.count(session_factory, "k", 60, now=NOW + 29) == 3
    assert throttle.hit(session_factory, "k", 3, 60, now=NOW + 30) == 0
    assert throttle.check(session_factory, "other", 3, 60, now=NOW) == 0
    # The same key with another window is another bucket.
    assert throttle.hit(session_factory, "k", 1, 300, now=NOW) == 0
    assert throttle.hit(session_factory, "k", 1, 300, now=NOW) == 270


def test_all_or_none_across_buckets(session_factory: sessionmaker[Session]) -> None:
    wide, narrow = Limit("wide", 10, 300), Limit("narrow", 1, 60)
    first = throttle.hit_all(session_factory, [wide, narrow], now=NOW)
    assert first.wait == 0 and first.left == (9, 0)
    second = throttle.hit_all(session_factory, [wide, narrow], now=NOW)
    assert second.wait == 30 and second.full == (False, True)
    # The refused hit took nothing from the bucket that had room.
    assert throttle.count(session_factory, "wide", 300, now=NOW) == 1


def test_forgive_and_forget(session_factory: sessionmaker[Session]) -> None:
    assert throttle.hit(session_factory, "a:1", 1, 60, now=NOW) == 0
    throttle.forgive(session_factory, "a:1", 60, now=NOW)
    throttle.forgive(session_factory, "a:1", 60, now=NOW)  # never below zero
    assert throttle.hit(session_factory, "a:1", 1, 60, now=NOW) == 0
    assert throttle.hit(session_factory, "a:1", 1, 60, now=NOW) > 0
    throttle.hit(session_factory, "a:2", 1, 60, now=NOW)
    throttle.hit(session_factory, "a_2", 1, 60, now=NOW)  # LIKE's wildcard, taken literally
    with session_factory() as session, session.begin():
        throttle.forget(session, "a:1")
    assert throttle.count(session_factory, "a:1", 60, now=NOW) == 0
    with session_factory() as session, session.begin():
        throttle.forget(session, "a:", prefix=True)
    assert throttle.count(session_factory, "a:2", 60, now=NOW) == 0
    assert throttle.count(session_factory, "a_2", 60, now=NOW) == 1


def test_ended_windows_are_purged(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "_last_purge", {})  # no purge yet in this process
    throttle.hit(session_factory, "old", 5, 60, now=NOW - 120)
    throttle.hit(session_factory, "new", 5, 60, now=NOW)  # a writer purges (once a minute)
    with session_factory() as session:
        assert session.scalars(select(throttle_counter.c.bucket)).all() == ["new/60"]
    assert throttle.purge(session_factory, now=NOW + 29) == 0
    assert throttle.purge(session_factory, now=NOW + 30) == 1


def _race(factory: sessionmaker[Session], racers: int, barrier: Any) -> list[int]:
    answers: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        wait = throttle.hit(factory, "raced", 7, 300)
        with lock:
            answers.append(wait)

    threads = [threading.Thread(target=one) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_racing_threads_take_exactly_the_limit(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=16)
    try:
        answers = _race(make_session_factory(engine), 24, threading.Barrier(24))
    finally:
        engine.dispose()
    assert len(answers) == 24
    assert Counter(a == 0 for a in answers) == {True: 7, False: 17}


def _process_racer(url: str, racers: int, barrier: Any, results: Any) -> None:
    engine = make_engine(url, pool_size=racers)
    try:
        results.put(_race(make_session_factory(engine), racers, barrier))
    finally:
        engine.dispose()


def test_racing_processes_take_exactly_the_limit(database_url: str) -> None:
    """Two worker processes of 8 threads each, one bucket of 7 slots: 7 taken in all."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(16), context.Queue()
    racers = [
        context.Process(target=_process_racer, args=(database_url, 8, barrier, results))
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    answers = [a for _ in racers for a in results.get(timeout=120)]
    for racer in racers:
        racer.join(timeout=30)
        assert racer.exitcode == 0
    assert Counter(a == 0 for a in answers) == {True: 7, False: 9}


def test_local_tallies_merge_through_the_table(session_factory: sessionmaker[Session]) -> None:
    """Two processes' tallies (as two workers hold them): each learns the other's count at
    its merge, and admits no more once the shared total reaches the limit."""
    a, b = LocalTally("book", 5, 60), LocalTally("book", 5, 60)
    assert [a.admit("1.2.3.4", now=NOW) for _ in range(3)] == [0, 0, 0]
    a.flush(session_factory, now=NOW)
    assert [b.admit("1.2.3.4", now=NOW + 1) for _ in range(2)] == [0, 0]
    assert b.admit("5.6.7.8", now=NOW + 1) == 0  # another address: its own count
    b.flush(session_factory, now=NOW + 1)
    assert b.admit("1.2.3.4", now=NOW + 2) == 28  # 3 + 2: the window is full
    a.flush(session_factory, now=NOW + 2)  # nothing of its own to add: learns the total
    assert a.admit("1.2.3.4", now=NOW + 2) == 28
    assert throttle.count(session_factory, "book:1.2.3.4", 60, now=NOW) == 5
    # The next minute starts again; 0 means no limit.
    assert a.admit("1.2.3.4", now=NOW + 30) == 0
    off = LocalTally("book", 0, 60)
    assert all(off.admit("1.2.3.4", now=NOW) == 0 for _ in range(1000))


def test_a_failed_merge_keeps_the_counts(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    tally = LocalTally("book", 5, 60)
    tally.admit("1.2.3.4", now=NOW)
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(OperationalError):
            tally.flush(make_session_factory(unmigrated), now=NOW)
    finally:
        unmigrated.dispose()
    tally.flush(session_factory, now=NOW)
    assert throttle.count(session_factory, "book:1.2.3.4", 60, now=NOW) == 1
