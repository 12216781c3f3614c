"""Emptying the mail outbox: lease due messages, write each from its templates, send it over
SMTP, settle it (`paddock.outbox`: delivered, retried with back-off and jitter, dead after
the last attempt until replayed; a 5xx refusal of the recipient is dead at once).

The lease is a short transaction; the messages are written in a read-only one and sent
outside any, so sending never holds the database's write lock (SQLite's is the booking
path's too). A message with nothing left to say (see `render.py`) is skipped."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from paddock import outbox
from paddock.db import utcnow
from paddock.mail.models import MailMessage, MailStatus
from paddock.mail.render import MailContext, render
from paddock.mail.smtp import Mailer, Outcome, SmtpConfig
from paddock.outbox import RetryPolicy
from paddock.settings import Settings
from paddock.unit_of_work import write_transaction

log = logging.getLogger(__name__)


@dataclass
class SendReport(outbox.PassReport):
    skipped: int = 0  # nothing left to say (render.py)


@dataclass(frozen=True)
class MailSettings:
    """What sending needs, from the settings (tests make their own)."""

    smtp: SmtpConfig
    context: MailContext
    policy: RetryPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> MailSettings:
        return cls(
            SmtpConfig.from_settings(settings),
            MailContext(settings.public_url, settings.mail_from, settings.secret_key),
            RetryPolicy(max_attempts=settings.mail_max_attempts),
        )


def send_due(
    session: Session,
    mail: MailSettings,
    *,
    batch: int = 50,
    lease: timedelta = timedelta(minutes=2),
    now: datetime | None = None,
    rng: random.Random | None = None,
    mailer: Mailer | None = None,
) -> SendReport:
    """One pass: every due message (up to `batch`) tried once."""
    rng = rng or random.Random()
    at = now or utcnow()
    ids = _claim(session, at, batch, lease)
    report = SendReport(claimed=len(ids))
    if not ids:
        return report
    own = mailer is None
    smtp = mailer or Mailer(mail.smtp)
    try:
        for message_id in ids:
            written = _write(session, message_id, mail.context, at)
            if written is None:
                _skip(session, message_id)
                report.skipped += 1
                continue
            sent_as: tuple[str, str] | None = None
            if isinstance(written, str):
                outcome = Outcome(written)
            else:
                sent_as = (str(written["To"]), str(written["Subject"]))
                outcome = smtp.send(written)
                if not outcome.delivered:
                    log.warning("mail #%s to %s: %s", message_id, written["To"], outcome.error)
            status = _record(
                session, message_id, outcome, now or utcnow(), mail.policy, rng, sent_as
            )
            if status == MailStatus.DELIVERED:
                report.delivered += 1
            elif status == MailStatus.DEAD:
                report.dead += 1
            else:
                report.failed += 1
    finally:
        if own:
            smtp.close()
    return report


def send_forever(
    factory: sessionmaker[Session],
    mail: MailSettings,
    *,
    interval: float = 5.0,
    stop: threading.Event | None = None,
    on_report: Callable[[SendReport], object] | None = None,
) -> None:
    """Keep the outbox empty: a pass, then a pause unless the pass was full."""
    stop = stop or threading.Event()
    while not stop.is_set():
        with factory() as session, Mailer(mail.smtp) as mailer:
            report = send_due(session, mail, mailer=mailer)
        if on_report is not None and report.claimed:
            on_report(report)
        if report.claimed < 50:
            stop.wait(interval)


def _claim(session: Session, now: datetime, batch: int, lease: timedelta) -> list[int]:
    query = (
        select(MailMessage.id)
        .where(*outbox.due(MailMessage, now))
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(batch)
    )
    with write_transaction(session):
        ids = list(session.scalars(outbox.locking(session, query, MailMessage)).all())
        if ids:
            session.execute(
                update(MailMessage).where(MailMessage.id.in_(ids)).values(locked_until=now + lease)
            )
    return ids


def _write(
    session: Session, message_id: int, context: MailContext, now: datetime
) -> EmailMessage | str | None:
    """The message to send, None to skip it, or why it could not be written."""
    try:
        message = session.get(MailMessage, message_id)
        if message is None:
            return None
        return render(session, message, context, now)
    except Exception as exc:  # a template or data fault: retried, and dead if it stays
        log.exception("mail #%s could not be written", message_id)
        return f"could not write the message: {type(exc).__name__}: {exc}"[:500]
    finally:
        session.rollback()


def _skip(session: Session, message_id: int) -> None:
    with write_transaction(session):
        session.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id)
            .values(status=MailStatus.SKIPPED, locked_until=None)
        )


def _record(
    session: Session,
    message_id: int,
    outcome: Outcome,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
    sent_as: tuple[str, str] | None,
) -> str:
    with write_transaction(session):
        message = session.get(MailMessage, message_id)
        if message is None:
            return MailStatus.DEAD
        if sent_as is not None:
            message.recipient, subject = sent_as
            message.subject = subject[:300]
        outbox.settle(
            message,
            delivered=outcome.delivered,
            error=outcome.error,
            now=now,
            policy=policy,
            rng=rng,
        )
        if outcome.permanent:
            message.status = MailStatus.DEAD
        return message.status
