"""A booking on PostgreSQL is one statement: booking_create() (bookings/sql/) takes the units
of every claim, writes the booking and its audit entry, or writes nothing and says which
demand fell short. In autocommit it costs one round trip: no BEGIN, no COMMIT.

Two callers: `write` inside the service's session (the CLI, the pages, the dealers' hook that
writes its attribution in the same transaction), and `write_async` on the booking endpoint's
event loop, on a psycopg connection of its own pool (no worker thread, no ORM).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from paddock.async_connections import AsyncConnections
from paddock.audit import service as audit
from paddock.bookings.drafts import Draft
from paddock.capacity import claims
from paddock.capacity import service as capacity
from paddock.capacity.engine import Pick
from paddock.db import BUSY_STATES, DEADLOCK
from paddock.unit_of_work import EXCLUSION_VIOLATION, MAX_ATTEMPTS, write_transaction

# EXCLUSION_VIOLATION: the quick way's INSERT met a unit a concurrent writer took after the
# probe: go carefully.
IDEMPOTENCY_CONSTRAINT = "uq_booking_idempotency_key"
_INSERT_AUDIT = audit.INSERT

BOOKING_CREATE = (
    "SELECT booking_id, taken, busy FROM booking_create("
    "%s::text, %s::text, %s::text, %s::text, %s::int, %s::int, %s::timestamptz, "
    "%s::timestamptz, %s::text, %s::timestamptz, %s::text, %s::text, %s::text, %s::text, "
    "%s::text, %s::int, %s::text, %s::timestamptz, %s::text, %s::text, %s::jsonb, "
    "%s::int[], %s::int[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::int[], "
    "%s::boolean)"
)
KEY_USED = "SELECT 1 FROM booking WHERE idempotency_key = %s"
COLUMNS = (
    "ref",
    "manage_token",
    "idempotency_key",
    "request_fingerprint",
    "product_id",
    "site_id",
    "starts_at",
    "ends_at",
    "status",
    "hold_expires_at",
    "guest_name",
    "guest_email",
    "guest_phone",
    "notes",
    "channel",
    "price_cents",
    "currency",
    "created_at",
)

AdmittedHook = Callable[[Session, int], None]


class DuplicateKey(Exception):
    """The Idempotency-Key is a retry's: the first booking answers (see service._replay)."""


def arguments(
    draft: Draft, chosen: claims.Claims, *, audited: bool, careful: bool
) -> tuple[Any, ...]:
    values, audit = draft.values, draft.audit
    entry = (
        (audit["actor"], audit["action"], json.dumps(audit["data"]))
        if audited
        else (None, None, None)
    )
    return (*(values[c] for c in COLUMNS), *entry, *chosen.arguments(), careful)


def write(
    session: Session, draft: Draft, chosen: claims.Claims, on_admitted: AdmittedHook | None
) -> tuple[int, list[Pick]]:
    """Alone in autocommit; with a hook, in a transaction with the hook's rows and then the
    audit entry (whose triggers read them)."""
    session.rollback()  # the caches' reads are over: hold no snapshot or connection
    bind = session.get_bind()
    careful = False
    for attempt in range(MAX_ATTEMPTS):
        try:
            if on_admitted is None and isinstance(bind, Engine):
                with bind.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT")
                    row = connection.exec_driver_sql(
                        BOOKING_CREATE, arguments(draft, chosen, audited=True, careful=careful)
                    ).one()
            else:
                with write_transaction(session):
                    connection = session.connection()
                    row = connection.exec_driver_sql(
                        BOOKING_CREATE, arguments(draft, chosen, audited=False, careful=careful)
                    ).one()
                    if on_admitted is not None:
                        on_admitted(session, row.booking_id)
                    connection.execute(_INSERT_AUDIT, draft.audit | {"subject_id": row.booking_id})
        except DBAPIError as exc:
            if not _retry(exc.orig, chosen, last=attempt + 1 == MAX_ATTEMPTS):
                raise
            careful = True
            continue
        chosen.remember(row.taken, row.busy)
        return int(row.booking_id), chosen.picks(row.taken)
    raise capacity.busy()


async def write_async(
    pool: AsyncConnections, draft: Draft, chosen: claims.Claims
) -> tuple[int, list[Pick]]:
    """The same statement on the event loop, on a connection of the endpoint's pool."""
    careful = False
    async with pool.connection() as connection:
        for attempt in range(MAX_ATTEMPTS):
            params = arguments(draft, chosen, audited=True, careful=careful)
            try:
                cursor = await connection.execute(BOOKING_CREATE, params, prepare=True)
                row = await cursor.fetchone()
            except psycopg.Error as exc:
                if _retry(exc, chosen, last=attempt + 1 == MAX_ATTEMPTS):
                    careful = True
                    continue
                if _is_duplicate_key(exc):
                    raise DuplicateKey() from exc
                raise
            assert row is not None
            booking_id, taken, busy = row
            chosen.remember(taken, busy)
            return int(booking_id), chosen.picks(taken)
    raise capacity.busy()


async def key_used_async(pool: AsyncConnections, idempotency_key: str) -> bool:
    """Whether a booking was made under this Idempotency-Key (by this request's first try)."""
    async with pool.connection() as connection:
        cursor = await connection.execute(KEY_USED, (idempotency_key,), prepare=True)
        return await cursor.fetchone() is not None


def _retry(error: BaseException | None, chosen: claims.Claims, *, last: bool) -> bool:
    """True when the attempt should run again, carefully (a concurrent writer won a unit, or
    two waited on each other's); raises SoldOut or Busy for the answers a client can act on;
    False for anything else."""
    detail = claims.sold_out_detail(error)
    if detail is not None:
        raise capacity.sold_out(chosen.shortfalls(detail)) from error
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate in (DEADLOCK, EXCLUSION_VIOLATION) and not last:
        return True
    if sqlstate in BUSY_STATES:
        raise capacity.busy() from error
    return False


def _is_duplicate_key(error: psycopg.Error) -> bool:
    return isinstance(error, psycopg.errors.UniqueViolation) and (
        error.diag.constraint_name == IDEMPOTENCY_CONSTRAINT
    )
