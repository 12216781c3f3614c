"""A booking on PostgreSQL is one statement: booking_create() (bookings/sql/) takes the units
of every claim, writes the booking and its audit entry, or writes nothing and says which
demand fell short. In autocommit it costs one round trip: no BEGIN, no COMMIT.

Two callers: `write` inside the service's session (the CLI, the pages, the dealers' hook that
writes its attribution in the same transaction), and `write_async` on the booking endpoint's
event loop, on a psycopg connection of its own pool (no worker thread, no ORM).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from paddock.async_connections import AsyncConnections
from paddock.audit import service as audit
from paddock.bookings.drafts import AdmittedHook, Draft
from paddock.capacity import claims
from paddock.capacity import service as capacity
from paddock.capacity.engine import Pick
from paddock.db import BUSY_STATES, DEADLOCK
from paddock.unit_of_work import EXCLUSION_VIOLATION, MAX_ATTEMPTS, write_transaction

# EXCLUSION_VIOLATION: the quick way's INSERT met a unit a concurrent writer took after the
# probe: go carefully.
IDEMPOTENCY_CONSTRAINT = "uq_booking_idempotency_key"
_INSERT_AUDIT = audit.INSERT

# booking_create()'s parameters, by name: (parameter, its SQL type, the argument's key: a
# column of the draft's booking row, or one of `arguments`' own).
PARAMETERS = (
    ("p_ref", "text", "ref"),
    ("p_manage_token", "text", "manage_token"),
    ("p_idempotency_key", "text", "idempotency_key"),
    ("p_fingerprint", "text", "request_fingerprint"),
    ("p_product_id", "int", "product_id"),
    ("p_site_id", "int", "site_id"),
    ("p_starts_at", "timestamptz", "starts_at"),
    ("p_ends_at", "timestamptz", "ends_at"),
    ("p_status", "text", "status"),
    ("p_hold_expires_at", "timestamptz", "hold_expires_at"),
    ("p_guest_name", "text", "guest_name"),
    ("p_guest_email", "text", "guest_email"),
    ("p_guest_phone", "text", "guest_phone"),
    ("p_notes", "text", "notes"),
    ("p_channel", "text", "channel"),
    ("p_price_cents", "int", "price_cents"),
    ("p_currency", "text", "currency"),
    ("p_now", "timestamptz", "created_at"),
    ("p_audit_actor", "text", "audit_actor"),
    ("p_audit_action", "text", "audit_action"),
    ("p_audit_data", "jsonb", "audit_data"),
    ("p_pools", "int[]", "pools"),
    ("p_quantities", "int[]", "quantities"),
    ("p_starts", "timestamptz[]", "starts"),
    ("p_ends", "timestamptz[]", "ends"),
    ("p_candidates", "int[]", "candidates"),
    ("p_first", "int[]", "first"),
    ("p_careful", "boolean", "careful"),
)
BOOKING_CREATE = (
    "SELECT booking_id, taken, busy FROM booking_create("
    + ", ".join(f"{name} => %({key})s::{kind}" for name, kind, key in PARAMETERS)
    + ")"
)
KEY_USED = "SELECT 1 FROM booking WHERE idempotency_key = %s"
_NO_AUDIT = {"audit_actor": None, "audit_action": None, "audit_data": None}


class DuplicateKey(Exception):
    """The Idempotency-Key is a retry's: the first booking answers (see service._replay)."""


def arguments(draft: Draft, *, audited: bool, careful: bool) -> dict[str, Any]:
    """booking_create()'s arguments by key (see PARAMETERS): the booking row, the audit
    entry (or none: the caller writes it after its own rows), the claims, the way."""
    entry = draft.audit
    audit = (
        {
            "audit_actor": entry["actor"],
            "audit_action": entry["action"],
            "audit_data": json.dumps(entry["data"]),
        }
        if audited
        else _NO_AUDIT
    )
    return {**draft.values, **audit, **draft.chosen.arguments(), "careful": careful}


def write(
    session: Session, draft: Draft, on_admitted: AdmittedHook | None
) -> tuple[int, list[Pick]]:
    """Alone in autocommit; with a hook, in a transaction with the hook's rows and then the
    audit entry (whose triggers read them)."""
    session.rollback()  # the caches' reads are over: hold no snapshot or connection
    bind = session.get_bind()
    chosen = draft.chosen
    careful = False
    for attempt in range(MAX_ATTEMPTS):
        try:
            if on_admitted is None and isinstance(bind, Engine):
                with bind.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT")
                    row = connection.exec_driver_sql(
                        BOOKING_CREATE, arguments(draft, audited=True, careful=careful)
                    ).one()
            else:
                with write_transaction(session):
                    connection = session.connection()
                    row = connection.exec_driver_sql(
                        BOOKING_CREATE, arguments(draft, audited=False, careful=careful)
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


async def write_async(pool: AsyncConnections, draft: Draft) -> tuple[int, list[Pick]]:
    """The same statement on the event loop, on a connection of the endpoint's pool."""
    chosen = draft.chosen
    careful = False
    async with pool.connection() as connection:
        for attempt in range(MAX_ATTEMPTS):
            params = arguments(draft, audited=True, careful=careful)
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
