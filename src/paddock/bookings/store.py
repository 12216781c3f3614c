"""Where a drafted booking is written: one implementation per database, chosen once per
engine (`store(session)`), so that no step of the booking path asks which database it is on.

- PostgreSQL: one statement, booking_create() (postgres.py), in autocommit; with a programme's
  hook, in a transaction with the hook's rows.
- SQLite: one transaction under the write lock (`run_write`): the booking row, a probe per
  candidate unit (capacity/claims.py), the hook's rows, the audit entry.
"""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.bookings import postgres
from paddock.bookings.drafts import ENGAGEMENT, AdmittedHook, Draft
from paddock.bookings.models import Booking
from paddock.capacity import claims
from paddock.capacity.engine import Pick
from paddock.capacity.takers import raw_cursor
from paddock.per_engine import PerEngine
from paddock.unit_of_work import run_write

_INSERT_BOOKING = insert(cast(Table, Booking.__table__)).returning(Booking.__table__.c.id)
_INSERT_AUDIT = audit.INSERT


class BookingStore(Protocol):
    def write(
        self, session: Session, draft: Draft, on_admitted: AdmittedHook | None
    ) -> tuple[int, list[Pick]]:
        """Take the draft's units and write the booking and its audit entry, all or nothing;
        SoldOut naming the short demands, IntegrityError for a used Idempotency-Key."""
        ...


class PostgresStore:
    def write(
        self, session: Session, draft: Draft, on_admitted: AdmittedHook | None
    ) -> tuple[int, list[Pick]]:
        return postgres.write(session, draft, on_admitted)


class SqliteStore:
    def write(
        self, session: Session, draft: Draft, on_admitted: AdmittedHook | None
    ) -> tuple[int, list[Pick]]:
        return run_write(session, lambda: self._write(session, draft, on_admitted))

    @staticmethod
    def _write(
        session: Session, draft: Draft, on_admitted: AdmittedHook | None
    ) -> tuple[int, list[Pick]]:
        """Inside the write transaction (SQLite's write lock taken at BEGIN): take the units
        (a probe per candidate), write the booking, its allocations and its audit entry."""
        values = draft.values
        connection = session.connection()
        booking_id = int(connection.execute(_INSERT_BOOKING, values).scalar_one())
        with raw_cursor(session) as cursor:
            picks = claims.take_on_sqlite(
                cursor,
                draft.chosen,
                engagement_kind=ENGAGEMENT,
                engagement_id=booking_id,
                expires_at=values["hold_expires_at"],
                now=values["created_at"],
            )
        if on_admitted is not None:
            on_admitted(session, booking_id)
        # Audited after the hook: the audit entry's triggers (the dealers' webhook outbox)
        # read what the hook wrote.
        connection.execute(_INSERT_AUDIT, draft.audit | {"subject_id": booking_id})
        return booking_id, picks


store: PerEngine[BookingStore] = PerEngine(postgresql=PostgresStore(), sqlite=SqliteStore())
