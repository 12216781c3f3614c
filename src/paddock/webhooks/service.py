"""Webhook endpoints per dealer, and the dispatcher that empties the outbox.

The dispatcher claims due events in a short transaction (a lease in `locked_until`; on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so several dispatchers share the work), POSTs each outside
any transaction, then records the attempt in the delivery log. A 2xx answer delivers the event;
anything else (an error status, a refused connection, a timeout) schedules the next attempt with
exponential back-off and jitter, until `max_attempts`, when the event is dead until replayed.
A crash between POST and record only means the lease runs out and the event is sent again:
delivery is at least once, and receivers deduplicate on the `Paddock-Event-Id` header. Events of
one booking go out in order: one waits while an earlier one for the same endpoint has failed or
is in flight, and within a pass a failure holds back the booking's later events.

Endpoints go to public addresses only, checked when saved and at every connection
(`outbound.py`; `allow_private` lifts that for a local receiver). The dealer sees what came of an
attempt (a status code and its reason, or why it could not connect), never the receiver's
answer: a URL pointed inside our network must not read it back. The log keeps the detail."""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import httpx
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from paddock import outbox
from paddock.bookings.models import Booking
from paddock.capacity.models import Site
from paddock.catalog.models import Product
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution, Dealer, InvitationCode
from paddock.errors import Invalid, NotFound
from paddock.keyset import keyset_page
from paddock.outbox import RetryPolicy as RetryPolicy
from paddock.unit_of_work import write_transaction
from paddock.webhooks import outbound, signing
from paddock.webhooks.models import EventStatus, WebhookAttempt, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)
USER_AGENT = "Paddock-Webhooks/1"
EVENT_TYPES = (
    "booking.created",
    "booking.confirmed",
    "booking.moved",
    "booking.cancelled",
    "booking.checked_in",
    "booking.completed",
    "booking.no_show",
    "booking.expired",
    "ping",
)


class DispatchReport(outbox.PassReport):
    """A pass of the webhook dispatcher."""


@dataclass(frozen=True)
class _Claim:
    event_id: int
    endpoint_id: int
    booking_id: int | None
    attempt: int
    url: str
    secret: str
    event_type: str
    body: bytes


def set_endpoint(
    session: Session,
    *,
    dealer_id: int,
    url: str,
    secret: str | None = None,
    active: bool = True,
    allow_private: bool = False,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str | None]:
    """Create or change the dealer's endpoint. Returns it and, when one was generated, the new
    secret (shown once; the dealer's receiver needs it to check signatures). A URL on a
    private, loopback, link-local or metadata address is refused unless `allow_private`."""
    now = now or utcnow()
    clean = outbound.check_url(url, allow_private=allow_private)
    if secret is not None and len(secret) < 16:
        raise Invalid("A webhook secret has at least 16 characters.")
    with write_transaction(session):
        if session.get(Dealer, dealer_id) is None:
            raise NotFound(f"No dealer #{dealer_id}.")
        endpoint = session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.dealer_id == dealer_id)
        )
        shown = None
        if endpoint is None:
            shown = secret or "whsec_" + secrets.token_urlsafe(32)
            endpoint = WebhookEndpoint(dealer_id=dealer_id, secret=shown, created_at=now)
            session.add(endpoint)
        elif secret is not None:
            endpoint.secret = secret
        endpoint.url = clean
        endpoint.active = active
        endpoint.updated_at = now
        session.flush()
    return endpoint, shown if secret is None else None


def rotate_secret(session: Session, *, dealer_id: int, now: datetime | None = None) -> str:
    with write_transaction(session):
        endpoint = _endpoint(session, dealer_id)
        endpoint.secret = "whsec_" + secrets.token_urlsafe(32)
        endpoint.updated_at = now or utcnow()
        return endpoint.secret


def get_endpoint(session: Session, *, dealer_id: int) -> WebhookEndpoint:
    return _endpoint(session, dealer_id)


def send_ping(session: Session, *, dealer_id: int, now: datetime | None = None) -> WebhookEvent:
    """Queue a `ping` event so a dealer can test their receiver."""
    now = now or utcnow()
    with write_transaction(session):
        endpoint = _endpoint(session, dealer_id)
        event = WebhookEvent(
            endpoint_id=endpoint.id,
            dealer_id=dealer_id,
            event_type="ping",
            occurred_at=now,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(event)
        session.flush()
        event.payload = _envelope(event, {"message": "Webhook test from Paddock."})
    return event


def list_events(
    session: Session,
    *,
    dealer_id: int | None = None,
    status: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> Sequence[WebhookEvent]:
    query = select(WebhookEvent)
    if dealer_id is not None:
        query = query.where(WebhookEvent.dealer_id == dealer_id)
    if status:
        if status not in set(EventStatus):
            raise Invalid(f"Unknown status '{status}'; use pending, delivered or dead.")
        query = query.where(WebhookEvent.status == status)
    page = keyset_page(query, WebhookEvent.id, after=after_id, limit=limit)
    return session.scalars(page).all()


def attempts_of(
    session: Session, *, event_id: int, dealer_id: int | None = None
) -> tuple[WebhookEvent, Sequence[WebhookAttempt]]:
    event = session.get(WebhookEvent, event_id)
    if event is None or (dealer_id is not None and event.dealer_id != dealer_id):
        raise NotFound(f"No webhook event #{event_id}.")
    rows = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.event_id == event_id)
        .order_by(WebhookAttempt.id)
    ).all()
    return event, rows


def replay(
    session: Session,
    *,
    event_ids: Sequence[int] = (),
    dealer_id: int | None = None,
    all_dead: bool = False,
    now: datetime | None = None,
) -> int:
    """Send dead (or delivered) events again from a fresh attempt count; returns how many."""
    mine = [WebhookEvent.dealer_id == dealer_id] if dealer_id is not None else []
    return outbox.replay(
        session, WebhookEvent, ids=event_ids, all_dead=all_dead, now=now, where=mine
    )


def dispatch(
    session: Session,
    *,
    client: httpx.Client | None = None,
    policy: RetryPolicy | None = None,
    batch: int = 100,
    lease: timedelta = timedelta(seconds=60),
    timeout: float = 10.0,
    now: datetime | None = None,
    rng: random.Random | None = None,
    allow_private: bool = False,
) -> DispatchReport:
    """One pass: send every due event (up to `batch`) once. Without a `client`, one from
    `outbound.client` (only public addresses unless `allow_private`); a client passed in
    must come from there too, or be a test's mock."""
    policy = policy or RetryPolicy()
    rng = rng or random.Random()
    claims = _claim(session, now or utcnow(), batch, lease)
    report = DispatchReport(claimed=len(claims))
    if not claims:
        return report
    own_client = client is None
    http = client or outbound.client(allow_private=allow_private, timeout=timeout)
    held_back: set[tuple[int, int]] = set()
    try:
        for claim in claims:
            key = (claim.endpoint_id, claim.booking_id or -claim.event_id)
            if key in held_back:
                _release(session, claim.event_id)
                report.claimed -= 1
                continue
            status_code, error, took_ms = _post(http, claim)
            outcome = _record(
                session, claim, status_code, error, took_ms, now or utcnow(), policy, rng
            )
            if outcome == EventStatus.DELIVERED:
                report.delivered += 1
            elif outcome == EventStatus.DEAD:
                report.dead += 1
            else:
                report.failed += 1
            if outcome != EventStatus.DELIVERED:
                held_back.add(key)
    finally:
        if own_client:
            http.close()
    return report


def dispatch_forever(
    factory: sessionmaker[Session],
    *,
    interval: float = 5.0,
    stop: threading.Event | None = None,
    policy: RetryPolicy | None = None,
    on_report: Any = None,
    allow_private: bool = False,
) -> None:
    """Keep the outbox empty: a pass, then a pause unless the pass was full."""
    stop = stop or threading.Event()
    with outbound.client(allow_private=allow_private) as client:
        while not stop.is_set():
            with factory() as session:
                report = dispatch(session, client=client, policy=policy)
            if on_report is not None and report.claimed:
                on_report(report)
            if report.claimed < 100:
                stop.wait(interval)


def _claim(session: Session, now: datetime, batch: int, lease: timedelta) -> list[_Claim]:
    earlier = aliased(WebhookEvent)
    waiting = (
        exists()
        .where(
            earlier.endpoint_id == WebhookEvent.endpoint_id,
            earlier.booking_id == WebhookEvent.booking_id,
            earlier.id < WebhookEvent.id,
            earlier.status == EventStatus.PENDING,
            (earlier.attempts > 0) | (earlier.locked_until > now),
        )
        .correlate(WebhookEvent)
    )
    query = (
        select(WebhookEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookEvent.endpoint_id)
        .where(
            *outbox.due(WebhookEvent, now),
            WebhookEndpoint.active.is_(True),
            ~waiting,
        )
        .order_by(WebhookEvent.next_attempt_at, WebhookEvent.id)
        .limit(batch)
    )
    claims: list[_Claim] = []
    with write_transaction(session):
        events = session.scalars(outbox.locking(session, query, WebhookEvent)).all()
        if not events:
            return []
        endpoints = {
            e.id: e
            for e in session.scalars(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.id.in_({ev.endpoint_id for ev in events})
                )
            )
        }
        for event in events:
            if event.payload is None:
                event.payload = _envelope(event, _booking_data(session, event))
            event.locked_until = now + lease
            endpoint = endpoints[event.endpoint_id]
            body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()
            claims.append(
                _Claim(
                    event.id,
                    event.endpoint_id,
                    event.booking_id,
                    event.attempts + 1,
                    endpoint.url,
                    endpoint.secret,
                    event.event_type,
                    body,
                )
            )
    return claims


def _release(session: Session, event_id: int) -> None:
    with write_transaction(session):
        session.execute(
            update(WebhookEvent).where(WebhookEvent.id == event_id).values(locked_until=None)
        )


def _post(client: httpx.Client, claim: _Claim) -> tuple[int | None, str, int]:
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Paddock-Event-Id": str(claim.event_id),
        "Paddock-Event-Type": claim.event_type,
        signing.HEADER: signing.header_value(claim.secret, claim.body, stamp),
    }
    started = time.perf_counter()
    try:
        with client.stream(
            "POST", claim.url, content=claim.body, headers=headers, follow_redirects=False
        ) as response:
            if not response.is_success:  # for the staff's log only, and at most 2 KB of it
                answer = next(response.iter_bytes(2048), b"")[:2048]
                log.warning(
                    "webhook event %s to %s: HTTP %s %r",
                    claim.event_id,
                    claim.url,
                    response.status_code,
                    answer.decode("utf-8", "replace"),
                )
    except httpx.HTTPError as exc:
        log.warning("webhook event %s to %s: %r", claim.event_id, claim.url, exc)
        return None, failure_reason(exc), _ms(started)
    error = "" if response.is_success else status_reason(response.status_code)
    return response.status_code, error, _ms(started)


def status_reason(status_code: int) -> str:
    """What a dealer is told of an answer that was not a success: its status, not its body."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "unknown status"
    moved = " (redirects are not followed)" if 300 <= status_code < 400 else ""
    return f"HTTP {status_code} {phrase}{moved}"


def failure_reason(exc: httpx.HTTPError) -> str:
    """Why a POST got no answer, in a few words (the exception's own text goes to the log)."""
    cause = exc.__cause__
    if isinstance(cause, outbound.AddressRefused | outbound.Unresolvable):
        return f"{type(exc).__name__}: {cause}"[:300]
    reasons = (
        (httpx.ConnectTimeout, "no connection within the time limit"),
        (httpx.ConnectError, "could not connect (refused, unreachable or a TLS failure)"),
        (httpx.TimeoutException, "no answer within the time limit"),
        (httpx.RemoteProtocolError, "the receiver's answer was not valid HTTP"),
    )
    reason = next((text for kind, text in reasons if isinstance(exc, kind)), "request failed")
    return f"{type(exc).__name__}: {reason}"


def _record(
    session: Session,
    claim: _Claim,
    status_code: int | None,
    error: str,
    took_ms: int,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> str:
    delivered = status_code is not None and 200 <= status_code < 300
    with write_transaction(session):
        event = session.get(WebhookEvent, claim.event_id)
        if event is None:  # the dealer was deleted meanwhile
            return EventStatus.DEAD
        event.last_status_code = status_code
        following = outbox.settle(
            event, delivered=delivered, error=error, now=now, policy=policy, rng=rng
        )
        session.add(
            WebhookAttempt(
                event_id=event.id,
                attempt=event.attempts,
                attempted_at=now,
                status_code=status_code,
                error=error,
                duration_ms=took_ms,
                next_attempt_at=following,
            )
        )
        return event.status


def _envelope(event: WebhookEvent, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.event_type,
        "occurred_at": event.occurred_at.isoformat(),
        **data,
    }


def _booking_data(session: Session, event: WebhookEvent) -> dict[str, Any]:
    row = session.execute(
        select(Booking, Product.code, Product.name, Site.code, Dealer.code, InvitationCode.code)
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
        .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .outerjoin(Dealer, Dealer.id == BookingAttribution.dealer_id)
        .outerjoin(InvitationCode, InvitationCode.id == BookingAttribution.invitation_code_id)
        .where(Booking.id == event.booking_id)
    ).first()
    if row is None:
        return {"booking": None}
    booking, product, product_name, site, dealer, code = row
    return {
        "dealer": dealer,
        "booking": {
            "ref": booking.ref,
            "status": booking.status,
            "product": product,
            "product_name": product_name,
            "site": site,
            "starts_at": booking.starts_at.isoformat(),
            "ends_at": booking.ends_at.isoformat(),
            "checked_in_at": booking.checked_in_at.isoformat() if booking.checked_in_at else None,
            "invitation_code": code,
            "guest": {
                "name": booking.guest_name,
                "email": booking.guest_email,
                "phone": booking.guest_phone,
            },
        },
    }


def _endpoint(session: Session, dealer_id: int) -> WebhookEndpoint:
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.dealer_id == dealer_id))
    if endpoint is None:
        raise NotFound("This dealer has no webhook endpoint; set one first.")
    return endpoint


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
