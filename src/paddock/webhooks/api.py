"""A dealer's webhook endpoint, its events and their delivery log, as JSON (dealer-scoped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from paddock.accounts.deps import DealerScope
from paddock.dealers import service as dealers
from paddock.http import SessionDep
from paddock.limits import Id
from paddock.mapping import to_schema
from paddock.webhooks import service
from paddock.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookEvent

router = APIRouter(prefix="/api/v1/dealers/{code}/webhook", tags=["webhooks"])


class EndpointSet(BaseModel):
    url: str = Field(max_length=500, description="Where events are POSTed (http or https)")
    active: bool = True
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=128,
        description="Leave empty to have one generated (shown once)",
    )


class EndpointRead(BaseModel):
    url: str
    active: bool
    secret: str | None = Field(default=None, description="Only when just generated or rotated")
    updated_at: datetime
    signature_header: str = "Paddock-Signature: t=<unix>,v1=<hex HMAC-SHA256 of '<t>.<body>'>"


class AttemptRead(BaseModel):
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str
    duration_ms: int
    next_attempt_at: datetime | None


class EventRead(BaseModel):
    id: int
    type: str
    booking_id: int | None
    occurred_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    payload: dict[str, Any] | None = None
    log: list[AttemptRead] | None = None


def endpoint_read(endpoint: WebhookEndpoint, secret: str | None = None) -> EndpointRead:
    return to_schema(EndpointRead, endpoint, secret=secret)


def event_read(
    event: WebhookEvent, log: list[WebhookAttempt] | None = None, *, full: bool = False
) -> EventRead:
    return to_schema(
        EventRead,
        event,
        type=event.event_type,
        next_attempt_at=event.next_attempt_at if event.status == "pending" else None,
        last_error=shown_error(event.last_status_code, event.last_error),
        payload=event.payload if full else None,
        log=None
        if log is None
        else [to_schema(AttemptRead, a, error=shown_error(a.status_code, a.error)) for a in log],
    )


def shown_error(status_code: int | None, error: str) -> str:
    """An answer's status and reason, never its body (attempts logged before the body was kept
    out of the log may still hold one); without an answer, why there was none."""
    if status_code is None:
        return error
    return "" if 200 <= status_code < 300 else service.status_reason(status_code)


@router.get("", response_model=EndpointRead)
def get_endpoint(code: str, session: SessionDep, scope: DealerScope) -> EndpointRead:
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    return endpoint_read(service.get_endpoint(session, dealer_id=dealer.id))


@router.put("", response_model=EndpointRead)
def set_endpoint(
    code: str, body: EndpointSet, request: Request, session: SessionDep, scope: DealerScope
) -> EndpointRead:
    """Where the dealer's CRM receives its invitees' booking events, signed with the secret.
    Only http(s) URLs on public addresses, without credentials: a host that is or resolves to
    a private, loopback, link-local or cloud-metadata address is refused (422)."""
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    endpoint, secret = service.set_endpoint(
        session,
        dealer_id=dealer.id,
        url=body.url,
        secret=body.secret,
        active=body.active,
        allow_private=request.app.state.settings.webhook_allow_private,
    )
    return endpoint_read(endpoint, secret)


@router.post("/rotate-secret", response_model=EndpointRead)
def rotate_secret(code: str, session: SessionDep, scope: DealerScope) -> EndpointRead:
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    secret = service.rotate_secret(session, dealer_id=dealer.id)
    return endpoint_read(service.get_endpoint(session, dealer_id=dealer.id), secret)


@router.post("/ping", response_model=EventRead, status_code=202)
def ping(code: str, session: SessionDep, scope: DealerScope) -> EventRead:
    """Queue a test event for the dealer's endpoint."""
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    return event_read(service.send_ping(session, dealer_id=dealer.id), full=True)


@router.get("/events", response_model=list[EventRead])
def list_events(
    code: str,
    session: SessionDep,
    scope: DealerScope,
    status: str | None = Query(default=None, pattern="^(pending|delivered|dead)$"),
    after_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[EventRead]:
    """The outbox and delivery state of the dealer's events, oldest first (keyset pages)."""
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    rows = service.list_events(
        session, dealer_id=dealer.id, status=status, after_id=after_id, limit=limit
    )
    return [event_read(e) for e in rows]


@router.get("/events/{event_id}", response_model=EventRead)
def get_event(code: str, event_id: Id, session: SessionDep, scope: DealerScope) -> EventRead:
    """One event with its payload and every delivery attempt."""
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    event, log = service.attempts_of(session, event_id=event_id, dealer_id=dealer.id)
    return event_read(event, list(log), full=True)


@router.post("/events/{event_id}/replay", response_model=EventRead)
def replay_event(code: str, event_id: Id, session: SessionDep, scope: DealerScope) -> EventRead:
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    service.replay(session, event_ids=[event_id], dealer_id=dealer.id)
    event, _ = service.attempts_of(session, event_id=event_id, dealer_id=dealer.id)
    return event_read(event)


@router.post("/replay-dead", response_model=dict[str, int])
def replay_dead(code: str, session: SessionDep, scope: DealerScope) -> dict[str, int]:
    """Send every dead event of the dealer again, from a fresh attempt count."""
    dealer = dealers.get_dealer(session, code=code, scope=scope)
    return {"replayed": service.replay(session, all_dead=True, dealer_id=dealer.id)}
