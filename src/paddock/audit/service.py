"""The one audit writer: every domain records what happened, who did it and to what through
`record` (or, for statements built ahead on the booking path, `entry`).

The actor is who was authenticated for the change, named by the interface that took it:
`user:<e-mail>` or `token:<id>:<name>` (accounts.Principal.actor), `guest via manage link`,
`guest:<e-mail>` for a public booking, `cli:<os user>`, or `system` for background work.
Never a name taken from the request's body."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.db import utcnow

INSERT = insert(cast(Table, AuditEntry.__table__))
MAX_ACTOR = 120  # the column's length


def entry(
    *,
    actor: str,
    subject_kind: str,
    subject_id: int | None,
    action: str,
    at: datetime | None = None,
    **data: Any,
) -> dict[str, Any]:
    """One entry as the row to insert. A trailing underscore lets `from_` name `from`."""
    row: dict[str, Any] = {
        "at": at or utcnow(),
        "actor": (actor or "system")[:MAX_ACTOR],
        "subject_kind": subject_kind,
        "action": action,
        "data": {key.rstrip("_"): value for key, value in data.items()},
    }
    if subject_id is not None:
        row["subject_id"] = subject_id
    return row


def record(
    session: Session,
    *,
    actor: str,
    subject_kind: str,
    subject_id: int,
    action: str,
    at: datetime | None = None,
    **data: Any,
) -> None:
    """Inside the caller's transaction: the entry commits or rolls back with the change.
    Pending changes are flushed first, so the entry (and any trigger on it) follows them."""
    session.flush()
    session.execute(
        INSERT,
        entry(
            actor=actor,
            subject_kind=subject_kind,
            subject_id=subject_id,
            action=action,
            at=at,
            **data,
        ),
    )


def record_many(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Entries made with `entry` (each with its subject_id), in one statement."""
    batch = list(rows)
    if batch:
        session.execute(INSERT, batch)
