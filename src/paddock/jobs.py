"""The server's background work, in one place: each job is a named function and how often it
runs. The app's lifespan starts them (`start`) and stops them (`stop`); each worker process of
`paddock serve` runs its own set. Every job is safe in several processes at once: expiring holds
and purging sessions are idempotent, linking is idempotent, dispatchers lease their events and
one compaction runs at a time.

A job's steps run in order in a worker thread, so requests never wait for them, each in a
session of its own; a failing step is logged and ends that pass (the next pass tries again).
Add background work here: a step function over a session, in a job with its interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from paddock.accounts import service as accounts
from paddock.bookings import service as bookings
from paddock.crm import people
from paddock.mail import reminders, sender
from paddock.rollup import service as rollup
from paddock.webhooks import outbound
from paddock.webhooks import service as webhooks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What the steps share across passes."""

    session_factory: sessionmaker[Session]
    webhook_client: httpx.Client
    mail: sender.MailSettings | None = None  # set when PADDOCK_MAIL_ENABLED


Step = Callable[[Session, Context], object]


def expire_holds(session: Session, context: Context) -> None:
    """Expired holds give their units back even when nobody books over them."""
    bookings.expire_holds(session)


def purge_sessions(session: Session, context: Context) -> None:
    """Ended web sessions are deleted (their cookies are refused anyway; the rows would pile
    up)."""
    accounts.purge_sessions(session)


def link_people(session: Session, context: Context) -> None:
    """New bookings are linked to the person with their e-mail (the CRM)."""
    people.link_bookings(session)


def deliver_webhooks(session: Session, context: Context) -> None:
    """The webhook outbox is emptied."""
    webhooks.dispatch(session, client=context.webhook_client)


def fold_kpis(session: Session, context: Context) -> None:
    """The KPI rollup's deltas are folded into their day rows."""
    rollup.compact(session)


def send_mail(session: Session, context: Context) -> None:
    """The mail outbox is emptied (over one SMTP connection per pass)."""
    if context.mail is not None:
        sender.send_due(session, context.mail)


def queue_reminders(session: Session, context: Context) -> None:
    """Tomorrow's bookings get their reminder (once each, whatever the passes)."""
    reminders.enqueue_reminders(session)


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds between passes
    steps: tuple[Step, ...]

    def run_once(self, context: Context) -> None:
        for step in self.steps:
            with context.session_factory() as session:
                step(session, context)


HOLD_SWEEPER = Job("hold sweeper", 30.0, (expire_holds, purge_sessions))
CRM_PASS = Job("CRM background pass", 10.0, (link_people, deliver_webhooks, fold_kpis))
JOBS = (HOLD_SWEEPER, CRM_PASS)
# With PADDOCK_MAIL_ENABLED only (otherwise `paddock mail send` does it).
MAIL_JOBS = (
    Job("mail sender", 5.0, (send_mail,)),
    Job("mail reminders", 300.0, (queue_reminders,)),
)
# Bookings per address are counted in memory and merged with the other workers' this often
# (`throttle.LocalTally.run`, which skips a turn with nothing to merge).
TALLY_FLUSH_SECONDS = 1.0


async def repeat(job: Job, context: Context) -> None:
    """Run a job every `job.every` seconds until cancelled."""
    while True:
        await asyncio.sleep(job.every)
        try:
            await asyncio.to_thread(job.run_once, context)
        except Exception:  # a passing database or network error must not stop the loop
            log.exception("%s failed", job.name)


@dataclass
class Running:
    tasks: list[asyncio.Task[None]]
    context: Context


def start(app: FastAPI) -> Running:
    """Start every job (from the app's lifespan, on its event loop)."""
    state = app.state
    context = Context(
        session_factory=state.session_factory,
        webhook_client=outbound.client(allow_private=state.settings.webhook_allow_private),
        mail=sender.MailSettings.from_settings(state.settings)
        if state.settings.mail_enabled
        else None,
    )
    jobs = JOBS + (MAIL_JOBS if context.mail is not None else ())
    tasks = [asyncio.create_task(repeat(job, context)) for job in jobs]
    tasks.append(
        asyncio.create_task(state.booking_tally.run(state.session_factory, TALLY_FLUSH_SECONDS))
    )
    return Running(tasks, context)


async def stop(running: Running) -> None:
    """Cancel every job and wait for them to end (a step already in its thread finishes
    there), then close the webhook client."""
    for task in running.tasks:
        task.cancel()
    await asyncio.gather(*running.tasks, return_exceptions=True)
    running.context.webhook_client.close()
