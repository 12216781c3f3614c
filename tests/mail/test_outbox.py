"""The mail outbox is written with the change, in its transaction (a trigger on the booking's
audit entries), on SQLite and PostgreSQL: a refused booking writes none, and the sender
delivers to a real SMTP server (aiosmtpd) with both parts and the calendar file, retries with
back-off while the server refuses, gives up (dead), and sends again on replay."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from paddock import outbox
from paddock.bookings import service as bookings
from paddock.db import utcnow
from paddock.errors import SoldOut
from paddock.mail import messages as queued
from paddock.mail import sender
from paddock.mail.devserver import DevServer
from paddock.mail.models import MailKind, MailMessage, MailStatus
from tests.factories import MONDAY, at, make_world
from tests.mail.helpers import PUBLIC_URL, book, mail_settings, messages


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


def test_a_booking_writes_its_mail_in_its_transaction(session: Session) -> None:
    make_world(session, cars=1, coaches=1)
    result = book(session)
    [message] = messages(session)
    assert (message.kind, message.booking_id, message.status) == (
        MailKind.CONFIRMED,
        result.booking.id,
        MailStatus.PENDING,
    )
    with pytest.raises(SoldOut):  # the one car is taken: nothing is written, no mail either
        book(session, email="bob@example.com")
    assert len(messages(session)) == 1


def test_a_rolled_back_change_leaves_no_mail(session: Session) -> None:
    make_world(session, cars=2, coaches=2)

    def refuse(inner: Session, booking_id: int) -> None:
        raise RuntimeError("the programme refused it")

    with pytest.raises(RuntimeError):
        book(session, on_admitted=refuse)
    assert messages(session) == []


def test_moves_and_cancellations_are_mailed_but_not_a_released_hold(session: Session) -> None:
    make_world(session, cars=2, coaches=2)
    ref = book(session).booking.ref
    now = at(MONDAY, 10) - timedelta(days=6)
    bookings.reschedule(session, ref=ref, starts_at=at(MONDAY, 12), now=now)
    bookings.cancel_booking(session, ref=ref, now=now)
    held = book(session, hold=True).booking.ref
    bookings.cancel_booking(session, ref=held, now=at(MONDAY, 10) - timedelta(days=7))
    kinds = [m.kind for m in messages(session)]
    assert kinds == [MailKind.CONFIRMED, MailKind.MOVED, MailKind.CANCELLED]


def test_sending_delivers_both_parts_and_the_calendar_file(
    session: Session, server: DevServer
) -> None:
    make_world(session, cars=1, coaches=1)
    result = book(session)
    report = sender.send_due(session, mail_settings(server), now=at(MONDAY, 10) - timedelta(days=7))
    assert (report.claimed, report.delivered) == (1, 1)
    [mail] = server.inbox.to("ann@example.com")
    assert result.booking.ref in str(mail["Subject"])
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    link = f"{PUBLIC_URL}/b/{result.booking.manage_token}"
    assert link in text.get_content() and link in html.get_content()
    [ics] = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    body = ics.get_content()
    assert f"UID:{result.booking.ref}" in body and "STATUS:CONFIRMED" in body
    [message] = messages(session)
    assert (message.status, message.recipient, message.attempts) == (
        MailStatus.DELIVERED,
        "ann@example.com",
        1,
    )


def test_a_failing_server_means_retries_then_dead_then_replay_sends(
    session: Session, server: DevServer
) -> None:
    make_world(session, cars=1, coaches=1)
    book(session)
    settings = mail_settings(server, max_attempts=3)
    server.inbox.refuse = "451 4.3.0 Try again later"
    now = at(MONDAY, 10) - timedelta(days=7)
    rng = random.Random(1)
    waits = []
    for _ in range(3):
        report = sender.send_due(session, settings, now=now, rng=rng)
        assert report.claimed == 1 and report.delivered == 0
        [message] = messages(session)
        assert "451" in message.last_error
        if message.status == MailStatus.PENDING:
            waits.append(message.next_attempt_at - now)
            # not due before its time
            assert sender.send_due(session, settings, now=now).claimed == 0
            now = message.next_attempt_at
    assert message.status == MailStatus.DEAD and message.attempts == 3
    assert timedelta(seconds=30) <= waits[0] <= timedelta(seconds=60) < waits[1]
    assert server.inbox.messages == []

    server.inbox.refuse = ""
    assert outbox.replay(session, MailMessage, ids=[message.id], now=now) == 1
    assert sender.send_due(session, settings, now=now).delivered == 1
    assert len(server.inbox.messages) == 1
    assert messages(session)[0].status == MailStatus.DELIVERED


def test_an_unreachable_server_is_retried_and_a_private_one_refused(session: Session) -> None:
    make_world(session, cars=1, coaches=1)
    book(session)
    now = at(MONDAY, 10) - timedelta(days=7)
    with DevServer() as gone:
        settings = mail_settings(gone)
    report = sender.send_due(session, settings, now=now)  # the server stopped: refused
    assert report.failed == 1
    assert "could not connect" in messages(session)[0].last_error
    with DevServer() as local:
        strict = mail_settings(local)
        strict = sender.MailSettings(
            strict.smtp.__class__(**{**strict.smtp.__dict__, "allow_private": False}),
            strict.context,
            strict.policy,
        )
        later = messages(session)[0].next_attempt_at
        assert sender.send_due(session, strict, now=later).failed == 1
        assert local.inbox.messages == []
    assert "public SMTP server only" in messages(session)[0].last_error


def test_a_past_booking_is_skipped(session: Session, server: DevServer) -> None:
    make_world(session, cars=1, coaches=1)
    book(session)
    report = sender.send_due(session, mail_settings(server), now=at(MONDAY, 12))
    assert (report.claimed, report.skipped) == (1, 1)
    assert messages(session)[0].status == MailStatus.SKIPPED
    assert server.inbox.messages == []


def test_the_outbox_lists_and_replays_only_what_it_has(session: Session) -> None:
    make_world(session, cars=1, coaches=1)
    book(session)
    assert [m.kind for m in queued.list_messages(session, status="pending")] == [MailKind.CONFIRMED]
    with pytest.raises(Exception, match="No mail message #99"):
        outbox.replay(session, MailMessage, ids=[99], now=utcnow())


def test_racing_senders_send_each_message_once(
    session: Session, session_factory: sessionmaker[Session], server: DevServer
) -> None:
    make_world(session, cars=6, coaches=6)
    for n in range(6):
        book(session, email=f"guest{n}@example.com")
    settings = mail_settings(server)
    now = at(MONDAY, 10) - timedelta(days=7)
    reports: list[sender.SendReport] = []

    def run() -> None:
        with session_factory() as own:
            reports.append(sender.send_due(own, settings, now=now))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.delivered for r in reports) == 6
    assert sorted(str(m["To"]) for m in server.inbox.messages) == [
        f"guest{n}@example.com" for n in range(6)
    ]
