"""What the outboxes share (webhooks, mail): rows written in the transaction of the change they
announce, then sent by a dispatcher outside any transaction.

A dispatcher leases due rows in a short transaction (`locked_until`; on PostgreSQL `FOR UPDATE
SKIP LOCKED`, so several dispatchers share the work), sends each, then `settle`s it: delivered,
or the next attempt after an exponential back-off with jitter, or dead after `max_attempts`.
A dead row waits for a `replay`, which starts its attempts afresh. A crash between sending and
settling only means the lease runs out and the row is sent again: delivery is at least once.

A row type has the columns of `OutboxRow`: status, attempts, next_attempt_at, locked_until,
last_error, delivered_at."""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from paddock.db import utcnow
from paddock.errors import Invalid, NotFound
from paddock.unit_of_work import write_transaction


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_seconds: float = 30.0
    max_seconds: float = 6 * 3600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Exponential back-off with 'equal jitter': between half and all of base * 2^(n-1)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


class OutboxRow(Protocol):
    id: Any
    status: Any
    attempts: Any
    next_attempt_at: Any
    locked_until: Any
    last_error: Any
    delivered_at: Any


R = TypeVar("R")


def due(model: Any, now: datetime) -> list[Any]:
    """The conditions of a row a dispatcher may take now: pending, due, not leased."""
    return [
        model.status == OutboxStatus.PENDING,
        model.next_attempt_at <= now,
        model.locked_until.is_(None) | (model.locked_until <= now),
    ]


def locking(session: Session, query: Select[Any], of: Any) -> Select[Any]:
    """The claim's query: on PostgreSQL its rows locked, skipping those another dispatcher
    holds (SQLite has one writer at a time: the lease is enough)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=of)
    return query


def settle(
    row: OutboxRow,
    *,
    delivered: bool,
    error: str,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> datetime | None:
    """Record an attempt on a row (in the caller's transaction); returns the next attempt's
    time when there will be one."""
    row.attempts += 1
    row.locked_until = None
    row.last_error = error[:2000]
    if delivered:
        row.status = OutboxStatus.DELIVERED
        row.delivered_at = now
        return None
    if row.attempts >= policy.max_attempts:
        row.status = OutboxStatus.DEAD
        return None
    following: datetime = now + policy.delay(row.attempts, rng)
    row.next_attempt_at = following
    return following


def replay(
    session: Session,
    model: Any,
    *,
    ids: Sequence[int] = (),
    all_dead: bool = False,
    now: datetime | None = None,
    where: Sequence[Any] = (),
) -> int:
    """Send dead (or delivered) rows again from a fresh attempt count, in one transaction;
    returns how many. `where` narrows the rows (a dealer's own)."""
    noun = str(getattr(model, "noun", model.__tablename__))
    if not ids and not all_dead:
        raise Invalid(f"Name the {noun}s to replay, or replay all dead ones.")
    query = update(model).values(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now or utcnow(), locked_until=None
    )
    with write_transaction(session):
        if ids:
            found = session.scalars(select(model.id).where(model.id.in_(list(ids)), *where)).all()
            missing = sorted(set(ids) - set(found))
            if missing:
                raise NotFound(f"No {noun} #{missing[0]}.")
            query = query.where(model.id.in_(list(ids)))
        else:
            query = query.where(model.status == OutboxStatus.DEAD)
        result = session.execute(query.where(*where))
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass
class PassReport:
    """What one pass of a dispatcher did."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
