"""Fold the triggers' deltas into the per-day tables (`compact`, run in the background), and
rebuild the rollup from the base tables (`rebuild`, for recovery and bulk loads)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from paddock.unit_of_work import write_transaction

# Only one compaction at a time on PostgreSQL (others skip their turn).
COMPACT_LOCK = 7_300_301
# Allocations of these pools are not the centre's resources (see analytics: utilisation).
NOT_RESOURCES = "('dealer_allotment', 'customer_vehicle')"
BOOKING_KEY = "day, product_id, status, dealer_id, kind"
MONTH_KEY = "month, product_id, status, attributed, kind"
PG_MONTH_CELL = (
    "date_trunc('month', day)::date, product_id, status, "
    "CASE WHEN dealer_id <> 0 THEN 1 ELSE 0 END, kind"
)
SQLITE_MONTH_CELL = (
    "date(day, 'start of month'), product_id, status, "
    "CASE WHEN dealer_id <> 0 THEN 1 ELSE 0 END, kind"
)


@dataclass(frozen=True)
class Compacted:
    booking_cells: int
    unit_days: int


def compact(session: Session) -> Compacted:
    """Move every delta into its day row. Exact under concurrent writers: a delta is deleted
    in the same statement (PostgreSQL) or write transaction (SQLite) that adds it."""
    postgres = session.get_bind().dialect.name == "postgresql"
    with write_transaction(session):
        if postgres:
            if not session.scalar(text(f"SELECT pg_try_advisory_xact_lock({COMPACT_LOCK})")):
                return Compacted(0, 0)
            cells = session.execute(
                text(
                    f"WITH gone AS (DELETE FROM kpi_booking_delta RETURNING {BOOKING_KEY}, n), "
                    f"months AS (INSERT INTO kpi_booking_month AS m ({MONTH_KEY}, n) "
                    f"SELECT {PG_MONTH_CELL}, sum(n) FROM gone GROUP BY 1, 2, 3, 4, 5 "
                    f"ON CONFLICT ({MONTH_KEY}) DO UPDATE SET n = m.n + EXCLUDED.n) "
                    f"INSERT INTO kpi_booking_day AS t ({BOOKING_KEY}, n) "
                    f"SELECT {BOOKING_KEY}, sum(n) FROM gone GROUP BY {BOOKING_KEY} "
                    f"ON CONFLICT ({BOOKING_KEY}) DO UPDATE SET n = t.n + EXCLUDED.n"
                )
            )
            units = session.execute(
                text(
                    "WITH gone AS (DELETE FROM kpi_unit_delta RETURNING day, unit_id, seconds) "
                    "INSERT INTO kpi_unit_day AS t (day, unit_id, seconds) "
                    "SELECT day, unit_id, sum(seconds) FROM gone GROUP BY day, unit_id "
                    "ON CONFLICT (day, unit_id) "
                    "DO UPDATE SET seconds = t.seconds + EXCLUDED.seconds"
                )
            )
            return Compacted(_rows(cells), _rows(units))
        top_cell = session.scalar(text("SELECT max(id) FROM kpi_booking_delta")) or 0
        top_unit = session.scalar(text("SELECT max(id) FROM kpi_unit_delta")) or 0
        cells = session.execute(
            text(
                f"INSERT INTO kpi_booking_day ({BOOKING_KEY}, n) "
                f"SELECT {BOOKING_KEY}, sum(n) FROM kpi_booking_delta WHERE id <= :top "
                f"GROUP BY {BOOKING_KEY} "
                f"ON CONFLICT ({BOOKING_KEY}) DO UPDATE SET n = n + excluded.n"
            ),
            {"top": top_cell},
        )
        session.execute(
            text(
                f"INSERT INTO kpi_booking_month ({MONTH_KEY}, n) "
                f"SELECT {SQLITE_MONTH_CELL}, sum(n) FROM kpi_booking_delta WHERE id <= :top "
                "GROUP BY 1, 2, 3, 4, 5 "
                f"ON CONFLICT ({MONTH_KEY}) DO UPDATE SET n = n + excluded.n"
            ),
            {"top": top_cell},
        )
        session.execute(text("DELETE FROM kpi_booking_delta WHERE id <= :top"), {"top": top_cell})
        units = session.execute(
            text(
                "INSERT INTO kpi_unit_day (day, unit_id, seconds) "
                "SELECT day, unit_id, sum(seconds) FROM kpi_unit_delta WHERE id <= :top "
                "GROUP BY day, unit_id "
                "ON CONFLICT (day, unit_id) DO UPDATE SET seconds = seconds + excluded.seconds"
            ),
            {"top": top_unit},
        )
        session.execute(text("DELETE FROM kpi_unit_delta WHERE id <= :top"), {"top": top_unit})
        return Compacted(_rows(cells), _rows(units))


def rebuild(session: Session) -> None:
    """Recompute the whole rollup from bookings and allocations (writers wait meanwhile)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    with write_transaction(session):
        if postgres:
            session.execute(
                text(
                    "LOCK TABLE booking, booking_attribution, booking_person, allocation "
                    "IN SHARE MODE"
                )
            )
        for table in (
            "kpi_booking_delta",
            "kpi_booking_day",
            "kpi_booking_month",
            "kpi_unit_delta",
            "kpi_unit_day",
        ):
            session.execute(text(f"DELETE FROM {table}"))
        for statement in fill_statements("postgresql" if postgres else "sqlite"):
            session.execute(text(statement))


def fill_statements(dialect: str) -> list[str]:
    """The rollup computed from the base tables (also what the migration runs once)."""
    day = (
        "(b.starts_at AT TIME ZONE 'UTC')::date" if dialect == "postgresql" else "date(b.starts_at)"
    )
    bookings = (
        f"INSERT INTO kpi_booking_day ({BOOKING_KEY}, n) "
        f"SELECT {day}, b.product_id, b.status, coalesce(a.dealer_id, 0), "
        "coalesce(bp.kind_at_visit, ''), count(*) FROM booking b "
        "LEFT JOIN booking_attribution a ON a.booking_id = b.id "
        "LEFT JOIN booking_person bp ON bp.booking_id = b.id "
        "GROUP BY 1, 2, 3, 4, 5"
    )
    if dialect == "postgresql":
        units = (
            "INSERT INTO kpi_unit_day (day, unit_id, seconds) "
            "SELECT d::date, a.unit_id, sum(round(extract(epoch FROM "
            "least(a.ends_at AT TIME ZONE 'UTC', d + interval '1 day') "
            "- greatest(a.starts_at AT TIME ZONE 'UTC', d))))::bigint "
            "FROM allocation a JOIN pool p ON p.id = a.pool_id "
            "CROSS JOIN LATERAL generate_series(date_trunc('day', a.starts_at AT TIME ZONE 'UTC'), "
            "(a.ends_at AT TIME ZONE 'UTC') - interval '1 microsecond', interval '1 day') AS d "
            "WHERE a.active AND a.engagement_kind <> 'blocked' "
            f"AND p.kind NOT IN {NOT_RESOURCES} GROUP BY 1, 2"
        )
    else:
        units = (
            "INSERT INTO kpi_unit_day (day, unit_id, seconds) "
            "SELECT date(julianday(date(a.starts_at)) + k.n), a.unit_id, "
            "sum(CAST(round((min(julianday(a.ends_at), julianday(date(a.starts_at)) + k.n + 1) "
            "- max(julianday(a.starts_at), julianday(date(a.starts_at)) + k.n)) * 86400) "
            "AS INTEGER)) "
            "FROM allocation a JOIN pool p ON p.id = a.pool_id "
            "JOIN kpi_day_number k "
            "ON k.n <= CAST(julianday(a.ends_at) - julianday(date(a.starts_at)) AS INTEGER) "
            "AND julianday(date(a.starts_at)) + k.n < julianday(a.ends_at) "
            "WHERE a.active AND a.engagement_kind <> 'blocked' "
            f"AND p.kind NOT IN {NOT_RESOURCES} GROUP BY 1, 2"
        )
    cell = PG_MONTH_CELL if dialect == "postgresql" else SQLITE_MONTH_CELL
    months = (
        f"INSERT INTO kpi_booking_month ({MONTH_KEY}, n) "
        f"SELECT {cell}, sum(n) FROM kpi_booking_day GROUP BY 1, 2, 3, 4, 5"
    )
    return [bookings, months, units]


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
