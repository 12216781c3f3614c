"""Writing to the mail outbox, inside the caller's transaction, and reading it back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from paddock.db import utcnow
from paddock.errors import Invalid
from paddock.mail.models import MailMessage, MailStatus


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str = "",
    booking_id: int | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Add a mail to the outbox in the caller's transaction. With a `dedupe_key`, only the first
    enqueue of that key writes a row (racing writers included). Returns whether it wrote."""
    now = now or utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(MailMessage).values(
        kind=kind,
        recipient=recipient,
        booking_id=booking_id,
        payload=payload,
        dedupe_key=dedupe_key,
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        subject="",
        created_at=now,
    )
    if dedupe_key is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["dedupe_key"], index_where=MailMessage.dedupe_key.is_not(None)
        )
    result = session.execute(statement)
    return bool(getattr(result, "rowcount", 1))


def list_messages(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> Sequence[MailMessage]:
    """The latest messages first."""
    query = select(MailMessage)
    if status:
        if status not in set(MailStatus):
            raise Invalid(f"Unknown status '{status}'; use {', '.join(MailStatus)}.")
        query = query.where(MailMessage.status == status)
    if kind:
        query = query.where(MailMessage.kind == kind)
    query = query.order_by(MailMessage.id.desc()).limit(max(1, min(limit, 1000)))
    return session.scalars(query).all()
