"""Taking units inside a caller's transaction, one implementation per database, chosen once
per engine (`taker(session)`): PostgreSQL takes every claim in one statement (capacity_take(),
the exclusion constraint arbitrating), SQLite probes each candidate under its write lock (see
claims.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from paddock.capacity import claims
from paddock.capacity.engine import Pick
from paddock.capacity.models import Allocation
from paddock.per_engine import PerEngine


class UnitTaker(Protocol):
    def take(
        self,
        session: Session,
        chosen: claims.Claims,
        *,
        engagement_kind: str,
        engagement_id: int,
        expires_at: datetime | None,
        now: datetime,
    ) -> list[Pick]:
        """Every claim's units for the engagement, or SoldOut naming the short demands."""
        ...

    def insert_unless_taken(self, session: Session, row: dict[str, Any]) -> bool:
        """One active allocation unless its unit is taken over that time (False then)."""
        ...


class PostgresTaker:
    def take(self, session: Session, chosen: claims.Claims, **engagement: Any) -> list[Pick]:
        try:
            return claims.take(session.connection(), chosen, **engagement)
        except DBAPIError as exc:
            detail = claims.sold_out_detail(exc.orig)
            if detail is None:
                raise
            raise claims.sold_out(chosen.shortfalls(detail)) from exc

    def insert_unless_taken(self, session: Session, row: dict[str, Any]) -> bool:
        """The exclusion constraint decides, through ON CONFLICT DO NOTHING (a speculative
        insertion): two plain INSERTs of the same unit can deadlock, each entering its index
        entry and then waiting for the other's transaction."""
        taken = postgresql_insert(Allocation).on_conflict_do_nothing().returning(Allocation.id)
        return session.execute(taken, row).first() is not None


class SqliteTaker:
    def take(self, session: Session, chosen: claims.Claims, **engagement: Any) -> list[Pick]:
        with raw_cursor(session) as cursor:
            return claims.take_on_sqlite(cursor, chosen, **engagement)

    def insert_unless_taken(self, session: Session, row: dict[str, Any]) -> bool:
        """The writer holds SQLite's write lock and the caller has checked."""
        session.execute(insert(Allocation), row)
        return True


taker: PerEngine[UnitTaker] = PerEngine(postgresql=PostgresTaker(), sqlite=SqliteTaker())


@contextmanager
def raw_cursor(session: Session) -> Iterator[Any]:
    """A DB-API cursor on the session's connection, inside its transaction (the booking path's
    probes: a statement each, where SQLAlchemy's per-statement work would cost more). Closed
    on the way out: a probe left mid-result keeps a read of the database open on the
    connection after the transaction, even when the pool has handed the connection to another
    writer, whose BEGIN IMMEDIATE then fails at once ("database is locked")."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    finally:
        cursor.close()
