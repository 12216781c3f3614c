"""The server's background jobs (paddock/jobs.py) and the one bootstrap of the domains' hooks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from paddock import jobs
from paddock.accounts.models import User, UserSession
from paddock.app import create_app
from paddock.bookings import lifecycle
from paddock.bookings import service as bookings
from paddock.bookings.models import BookingStatus
from paddock.bootstrap import register_domains
from paddock.capacity import fleet
from paddock.db import utcnow
from paddock.settings import Settings
from tests.auth import user_for
from tests.factories import MONDAY, at, make_world

GUEST = bookings.Guest("Ann Lee", "ann@example.com")


def _context(session_factory: sessionmaker[Session]) -> jobs.Context:
    return jobs.Context(session_factory=session_factory, webhook_client=httpx.Client())


def test_the_hold_sweeper_expires_holds_and_purges_ended_sessions(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    make_world(session)
    an_hour_ago = utcnow() - timedelta(hours=1)
    held = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        hold=True,
        now=an_hour_ago,
    )
    email = user_for(session, "operations")
    user_id = session.scalar(select(User.id).where(User.email == email))
    for n, expires in enumerate((an_hour_ago, utcnow() + timedelta(hours=1))):
        session.add(
            UserSession(
                token_hash=f"{n:064d}",
                user_id=user_id,
                created_at=an_hour_ago,
                last_seen_at=an_hour_ago,
                expires_at=expires,
            )
        )
    session.commit()

    jobs.HOLD_SWEEPER.run_once(_context(session_factory))

    session.expire_all()
    stored = bookings.get_booking(session, ref=held.booking.ref).booking
    assert stored.status == BookingStatus.EXPIRED
    assert session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_a_failing_pass_is_logged_and_the_job_goes_on(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    passes: list[int] = []

    def flaky(session: Session, context: jobs.Context) -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("the database went away")

    job = jobs.Job("flaky job", 0.001, (flaky,))

    async def three_passes() -> None:
        task = asyncio.create_task(jobs.repeat(job, _context(session_factory)))
        while len(passes) < 3:
            await asyncio.sleep(0.005)
        task.cancel()

    asyncio.run(asyncio.wait_for(three_passes(), timeout=10))
    assert len(passes) >= 3
    assert "flaky job failed" in caplog.text


def test_the_lifespan_starts_every_job_and_stops_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[jobs.Running] = []
    start = jobs.start
    monkeypatch.setattr(jobs, "start", lambda app: started.append(start(app)) or started[-1])
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert len(started) == 1 and not any(t.done() for t in started[0].tasks)
    assert all(task.cancelled() for task in started[0].tasks)
    assert started[0].context.webhook_client.is_closed

    app = create_app(settings, sweeper=False)

    async def start_and_stop() -> jobs.Running:
        running = jobs.start(app)
        await asyncio.sleep(0)
        assert not any(task.done() for task in running.tasks)
        await jobs.stop(running)
        return running

    running = asyncio.run(start_and_stop())
    # The hold sweeper, the CRM pass and the tally's flush.
    assert len(running.tasks) == len(jobs.JOBS) + 1
    assert all(task.cancelled() for task in running.tasks)
    assert running.context.webhook_client.is_closed


def test_the_jobs_and_their_intervals() -> None:
    assert {job.name: (job.every, [s.__name__ for s in job.steps]) for job in jobs.JOBS} == {
        "hold sweeper": (30.0, ["expire_holds", "purge_sessions"]),
        "CRM background pass": (10.0, ["link_people", "deliver_webhooks", "fold_kpis"]),
    }


def test_register_domains_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    describers: dict[str, object] = {}
    companions: dict[str, object] = {}
    listeners: dict[str, object] = {}
    monkeypatch.setattr(fleet, "_describers", describers)
    monkeypatch.setattr(lifecycle, "companion_demands", companions)
    monkeypatch.setattr(lifecycle, "_release_listeners", listeners)
    register_domains()
    once = (dict(describers), dict(companions), dict(listeners))
    register_domains()
    assert (describers, companions, listeners) == once
    assert set(describers) == {"booking", "motorsport_entry"}
    assert set(companions) == set(listeners) == {"dealers"}


def test_the_app_factory_registers_the_domains(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    describers: dict[str, object] = {}
    monkeypatch.setattr(fleet, "_describers", describers)
    create_app(settings, sweeper=False)
    assert set(describers) == {"booking", "motorsport_entry"}
