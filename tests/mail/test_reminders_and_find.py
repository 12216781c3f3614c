"""The reminder the day before is enqueued once per booking, however many passes (or racing
processes) see it; "find my booking" mails one address its upcoming bookings' links and
nothing of anyone else's, and its page answers the same whether or not there are bookings."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from paddock import jobs
from paddock.bookings import service as bookings
from paddock.mail import find, reminders, sender
from paddock.mail.devserver import DevServer
from paddock.mail.models import MailKind, MailStatus
from tests.factories import MONDAY, at, make_world
from tests.mail.helpers import PUBLIC_URL, book, mail_settings, messages, same_page


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


def test_the_reminder_is_enqueued_once(
    session: Session, session_factory: sessionmaker[Session], server: DevServer
) -> None:
    make_world(session, cars=2, coaches=2)
    result = book(session)
    late = bookings.create_booking(  # booked the evening before: no reminder
        session,
        product_code="drive",
        starts_at=at(MONDAY, 12),
        guest=bookings.Guest("Bob Ray", "bob@example.com"),
        now=at(MONDAY, 12) - timedelta(hours=20),
    )
    day_before = at(MONDAY, 10) - timedelta(hours=20)
    assert reminders.enqueue_reminders(session, now=at(MONDAY, 10) - timedelta(days=2)) == 0

    def run() -> None:
        with session_factory() as own:
            reminders.enqueue_reminders(own, now=day_before)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reminders.enqueue_reminders(session, now=day_before) == 0
    found = [m for m in messages(session) if m.kind == MailKind.REMINDER]
    assert [m.booking_id for m in found] == [result.booking.id]
    assert late.booking.id not in [m.booking_id for m in found]
    sender.send_due(session, mail_settings(server), now=day_before)
    [mail] = [m for m in server.inbox.to("ann@example.com") if "Tomorrow" in str(m["Subject"])]
    assert result.booking.ref in str(mail["Subject"])


def test_find_my_booking_mails_the_links_and_nothing_else(
    session: Session, server: DevServer
) -> None:
    make_world(session, cars=3, coaches=3)
    first = book(session, email="ann@example.com", hour=10)
    second = book(session, email="Ann@Example.com", hour=14)
    other = book(session, email="bob@example.com", hour=12)
    cancelled = book(session, email="ann@example.com", hour=16)
    now = at(MONDAY, 10) - timedelta(days=6)
    bookings.cancel_booking(session, ref=cancelled.booking.ref, now=now)
    find.request_booking_links(session, email="ann@example.com", ip="203.0.113.5", now=now)
    find.request_booking_links(session, email="nobody@example.com", ip="203.0.113.5", now=now)
    sender.send_due(session, mail_settings(server), now=now, batch=100)
    [mail] = [
        m
        for m in server.inbox.to("ann@example.com")
        if "Your Paddock bookings" in str(m["Subject"])
    ]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    links = re.findall(rf"{re.escape(PUBLIC_URL)}/b/(\S+)", text)
    assert links == [first.booking.manage_token, second.booking.manage_token]
    assert other.booking.ref not in text and cancelled.booking.ref not in text
    assert server.inbox.to("nobody@example.com") == []
    [nobody] = [m for m in messages(session) if m.recipient == "nobody@example.com"]
    assert nobody.status == MailStatus.SKIPPED


def test_find_my_booking_is_throttled_per_address_and_per_email(session: Session) -> None:
    make_world(session)
    for _ in range(5):
        find.request_booking_links(session, email="ann@example.com", ip="203.0.113.9")
    queued = [m for m in messages(session) if m.kind == MailKind.FIND_BOOKINGS]
    assert len(queued) == find.PER_EMAIL[0]  # past it, silently nothing more
    for _ in range(find.PER_ADDRESS[0] - 5):
        find.request_booking_links(session, email="x@example.com", ip="203.0.113.9")
    with pytest.raises(Exception, match="Too many requests"):
        find.request_booking_links(session, email="y@example.com", ip="203.0.113.9")


def _form(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_the_find_page_answers_the_same_for_any_address(
    client: TestClient, session: Session
) -> None:
    make_world(session, cars=2, coaches=2)
    book(session, email="ann@example.com")
    answers = []
    for email in ("ann@example.com", "nobody@example.com"):
        token = _form(client, "/find")
        answer = client.post("/find", data={"email": email, "csrf_token": token})
        assert answer.status_code == 200
        answers.append(same_page(answer.text, email))
    assert answers[0] == answers[1]
    assert "on its way" in answers[0]
    token = _form(client, "/find")
    bad = client.post("/find", data={"email": "not an address", "csrf_token": token})
    assert bad.status_code == 422
    assert len([m for m in messages(session) if m.kind == MailKind.FIND_BOOKINGS]) == 2


def test_the_server_job_sends_when_mail_is_enabled(
    session: Session, session_factory: sessionmaker[Session], server: DevServer
) -> None:
    make_world(session, cars=1, coaches=1)
    book(session, hour=10)
    context = jobs.Context(session_factory, httpx.Client(), mail=mail_settings(server))
    try:
        for job in jobs.MAIL_JOBS:
            job.run_once(context)
    finally:
        context.webhook_client.close()
    assert len(server.inbox.to("ann@example.com")) == 1
