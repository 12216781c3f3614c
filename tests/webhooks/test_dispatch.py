"""Webhooks to dealers' CRMs, against a real HTTP receiver on 127.0.0.1: events are written
with the booking change, signed, retried with back-off while the receiver is down or failing,
never lost, logged attempt by attempt, dead after the last attempt and replayable."""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from paddock.audit.models import AuditEntry
from paddock.db import utcnow
from paddock.errors import Invalid
from paddock.webhooks import service as webhooks
from paddock.webhooks import signing
from paddock.webhooks.models import WebhookAttempt, WebhookEvent
from tests.crm.helpers import make_dealer, visit
from tests.factories import MONDAY, make_world
from tests.webhooks.receiver import Receiver

SECRET = "whsec_test_secret_0123456789"
# The receiver listens on 127.0.0.1: these tests allow private addresses, as development does
# (PADDOCK_WEBHOOK_ALLOW_PRIVATE); test_outbound.py proves they are refused otherwise.
dispatch = functools.partial(webhooks.dispatch, allow_private=True)
FAST = webhooks.RetryPolicy(max_attempts=3, base_seconds=60, max_seconds=600)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


def setup(session: Session, receiver: Receiver) -> int:
    make_world(session, cars=3, coaches=3)
    dealer = make_dealer(session)
    webhooks.set_endpoint(
        session, dealer_id=dealer.id, url=receiver.url, allow_private=True, secret=SECRET
    )
    return dealer.id


def events(session: Session) -> list[WebhookEvent]:
    session.rollback()  # a fresh snapshot: other sessions wrote meanwhile
    return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_attributed_bookings_reach_the_dealer_signed(session: Session, receiver: Receiver) -> None:
    dealer_id = setup(session, receiver)
    visit(session, email="ann@example.com", day=MONDAY, dealer_id=dealer_id)
    visit(session, email="bob@example.com", day=MONDAY, hour=12)  # not the dealer's guest
    report = dispatch(session, policy=FAST)
    assert (report.claimed, report.delivered) == (3, 3)
    assert receiver.types() == ["booking.created", "booking.checked_in", "booking.completed"]
    assert all(d.verified for d in receiver.deliveries)
    first = receiver.deliveries[0].body
    assert first["type"] == "booking.created" and first["dealer"] == "D-ATL-001"
    assert first["booking"]["guest"]["email"] == "ann@example.com"
    assert [e.status for e in events(session)] == ["delivered"] * 3
    log = session.scalars(select(WebhookAttempt)).all()
    assert [a.status_code for a in log] == [200, 200, 200]
    assert dispatch(session, policy=FAST).claimed == 0


def test_outbox_row_commits_or_rolls_back_with_the_change(
    session: Session, receiver: Receiver
) -> None:
    dealer_id = setup(session, receiver)
    result = visit(
        session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer_id
    )
    before = len(events(session))
    entry = {
        "at": utcnow(),
        "actor": "test",
        "subject_kind": "booking",
        "subject_id": result.booking.id,
        "action": "cancelled",
        "data": {"previous": "confirmed"},
    }
    session.execute(insert(AuditEntry), entry)
    session.rollback()
    assert len(events(session)) == before
    session.execute(insert(AuditEntry), entry)
    session.commit()
    assert [e.event_type for e in events(session)][-1] == "booking.cancelled"


def test_receiver_down_then_back_loses_nothing(session: Session, receiver: Receiver) -> None:
    dealer_id = setup(session, receiver)
    receiver.stop()
    visit(session, email="ann@example.com", day=MONDAY, outcome="checked_in", dealer_id=dealer_id)
    now = utcnow()
    report = dispatch(session, policy=FAST, now=now)
    # Only the first event of the booking is tried: the check-in waits behind it, in order.
    assert (report.claimed, report.failed) == (1, 1)
    created = events(session)[0]
    assert created.status == "pending" and created.attempts == 1
    assert created.last_status_code is None and "Connect" in created.last_error
    delay = (created.next_attempt_at - now).total_seconds()
    assert 30 <= delay <= 60  # back-off with jitter: between half and all of the base
    assert dispatch(session, policy=FAST, now=now).claimed == 0  # not due yet
    receiver.start()
    later = now + timedelta(minutes=2)
    assert dispatch(session, policy=FAST, now=later).delivered == 1
    assert dispatch(session, policy=FAST, now=later).delivered == 1
    assert receiver.types() == ["booking.created", "booking.checked_in"]
    attempts = session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.event_id == created.id)
    ).all()
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, None), (2, 200)]


def test_failing_receiver_kills_the_event_after_the_last_attempt_then_replay(
    session: Session, receiver: Receiver
) -> None:
    dealer_id = setup(session, receiver)
    receiver.status = 500
    visit(session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer_id)
    now = utcnow()
    for _ in range(3):
        report = dispatch(session, policy=FAST, now=now)
        assert report.claimed == 1
        now += timedelta(seconds=FAST.max_seconds + 1)
    event = events(session)[0]
    assert (event.status, event.attempts, event.last_status_code) == ("dead", 3, 500)
    log = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [a.status_code for a in log] == [500, 500, 500]
    gaps = [a.next_attempt_at - a.attempted_at for a in log[:2] if a.next_attempt_at]
    assert timedelta(seconds=30) <= gaps[0] <= timedelta(seconds=60)
    assert timedelta(seconds=60) <= gaps[1] <= timedelta(seconds=120)  # doubled
    assert log[2].next_attempt_at is None
    assert dispatch(session, policy=FAST, now=now).claimed == 0
    receiver.status = 200
    assert webhooks.replay(session, all_dead=True, dealer_id=dealer_id) == 1
    assert dispatch(session, policy=FAST).delivered == 1
    assert receiver.types() == ["booking.created"]
    assert receiver.requests == 4


def test_a_bad_signature_is_refused_by_the_receiver(session: Session, receiver: Receiver) -> None:
    dealer_id = setup(session, receiver)
    webhooks.set_endpoint(
        session, dealer_id=dealer_id, url=receiver.url, allow_private=True, secret="x" * 20
    )
    visit(session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer_id)
    report = dispatch(session, policy=FAST)
    assert report.failed == 1 and events(session)[0].last_status_code == 400
    assert receiver.deliveries == []


def test_two_dispatchers_deliver_each_event_once(
    session: Session, session_factory: sessionmaker[Session], receiver: Receiver
) -> None:
    dealer_id = setup(session, receiver)
    for n in range(12):
        day = MONDAY + timedelta(days=n // 3)
        visit(
            session,
            email=f"g{n}@example.com",
            day=day,
            hour=9 + 2 * (n % 3),
            outcome="confirmed",
            dealer_id=dealer_id,
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with session_factory() as own:
                barrier.wait()
                while dispatch(own, policy=FAST, batch=3).claimed:
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    session.rollback()
    ids = Counter(d.event_id for d in receiver.deliveries)
    assert len(ids) == 12 and set(ids.values()) == {1}
    assert (
        session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == "delivered")
        )
        == 12
    )


def test_ping_and_endpoint_rules(session: Session, receiver: Receiver) -> None:
    make_world(session)
    dealer = make_dealer(session)
    endpoint, secret = webhooks.set_endpoint(
        session, dealer_id=dealer.id, url=receiver.url, allow_private=True
    )
    assert secret is not None and secret.startswith("whsec_") and endpoint.secret == secret
    receiver.secret = secret
    webhooks.send_ping(session, dealer_id=dealer.id)
    assert dispatch(session).delivered == 1
    assert receiver.types() == ["ping"]
    with pytest.raises(Invalid):
        webhooks.set_endpoint(session, dealer_id=dealer.id, url="ftp://example.com/x")
    with pytest.raises(Invalid):
        webhooks.set_endpoint(
            session, dealer_id=dealer.id, url=receiver.url, allow_private=True, secret="short"
        )


def test_signature_helper_checks_time_and_body() -> None:
    body = b'{"a":1}'
    header = signing.header_value(SECRET, body, 1_800_000_000)
    assert signing.verify(SECRET, body, header, now=1_800_000_100)
    assert not signing.verify(SECRET, body + b" ", header, now=1_800_000_100)
    assert not signing.verify(SECRET, body, header, now=1_800_000_000 + 301)
    assert not signing.verify("other-secret-value", body, header, now=1_800_000_000)
    assert not signing.verify(SECRET, body, "garbage", now=1_800_000_000)


def test_no_endpoint_no_event(session: Session) -> None:
    make_world(session)
    dealer = make_dealer(session)
    visit(session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer.id)
    assert events(session) == []
