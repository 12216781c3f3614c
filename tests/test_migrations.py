"""The migrations since 0005 go down and up again on SQLite and PostgreSQL, and a booking
works after either way; the renamed date columns (0012) keep their rows (their own databases:
the suite's shared ones stay at the head)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import inspect, text

from paddock import throttle
from paddock.bookings import service
from paddock.db import make_engine, make_session_factory
from paddock.migrate import current, downgrade, upgrade
from tests.conftest import POSTGRES_ADMIN_URL
from tests.crm.helpers import make_dealer, visit
from tests.crm.test_sales import report, sale
from tests.factories import MONDAY, at, make_world

REVISIONS = (
    "0005_booking_in_one_call",
    "0006_probe_by_end",
    "0007_probe_in_one_statement",
    "0008_one_writer_per_key",
    "0009_quick_take_never_deadlocks",
    "0010_sqlite_busy_from_index",
    "0011_throttle_counters",
    "0012_date_columns_named_on",
    "0013_mail_outbox",
    "0014_guest_policy",
    "0015_ops_console",
    "0017_site_year_one",
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("postgres_database")  # skips when no server answers
    name = f"paddock_migrations_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def book(url: str, hour: int, *, world: bool = False) -> str:
    engine = make_engine(url, pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            if world:
                make_world(session)
            booked = service.create_booking(
                session,
                product_code="drive",
                starts_at=at(MONDAY, hour),
                guest=service.Guest("Ann Lee", "ann@example.com"),
            )
            return booked.booking.ref
    finally:
        engine.dispose()


def count(url: str, table: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", REVISIONS)
def test_booking_path_migration_goes_down_and_up(empty_url: str, revision: str) -> None:
    upgrade(empty_url)
    assert REVISIONS[-1] in current(empty_url)
    book(empty_url, 10, world=True)
    downgrade(empty_url, f"{revision}-1")
    assert revision not in current(empty_url)
    assert (count(empty_url, "booking"), count(empty_url, "allocation")) == (1, 3)
    upgrade(empty_url)
    assert REVISIONS[-1] in current(empty_url)
    book(empty_url, 12)
    assert (count(empty_url, "booking"), count(empty_url, "allocation")) == (2, 6)


def test_throttle_table_goes_down_and_up(empty_url: str) -> None:
    """Migration 0011: the shared throttle's table, gone below it and working above it."""

    def tables() -> set[str]:
        engine = make_engine(empty_url, pool_size=1)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    upgrade(empty_url)
    assert "throttle_counter" in tables()
    downgrade(empty_url, "0010_sqlite_busy_from_index")
    assert "throttle_counter" not in tables()
    upgrade(empty_url)
    engine = make_engine(empty_url, pool_size=1)
    try:
        factory = make_session_factory(engine)
        assert [throttle.hit(factory, "k", 1, 60, now=1e9) for _ in range(2)] == [0, 20]
    finally:
        engine.dispose()


DATE_COLUMNS = {"sale": "sold", "conversion": "converted", "vehicle": "bought"}


def test_date_columns_renamed_on_and_back_keep_every_row(empty_url: str) -> None:
    """Migration 0012: sold_at, converted_at and bought_at become *_on and back in place, every
    row and day kept (a SQLite table copy would have cascaded to the conversions)."""
    upgrade(empty_url)
    engine = make_engine(empty_url, pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            make_world(session)
            dealer = make_dealer(session)
            visit(session, email="ann@example.com", day=MONDAY, dealer_id=dealer.id)
            made = report(session, sale("ann@example.com", 30, dealer_code=dealer.code), None)
            assert made.conversion is not None

        def days(suffix: str) -> list[object]:
            with engine.connect() as conn:
                return [
                    conn.execute(text(f"SELECT {stem}_{suffix} FROM {table}")).scalar_one()
                    for table, stem in DATE_COLUMNS.items()
                ]

        def sale_indexes() -> set[str]:
            return {str(i["name"]) for i in inspect(engine).get_indexes("sale")}

        on = days("on")
        assert [str(day) for day in on] == [str(MONDAY + timedelta(days=30))] * 3
        assert "ix_sale_sold_on" in sale_indexes()
        downgrade(empty_url, "0011_throttle_counters")
        engine.dispose()
        assert days("at") == on and "ix_sale_sold_at" in sale_indexes()
        upgrade(empty_url)
        engine.dispose()
        assert days("on") == on and "ix_sale_sold_on" in sale_indexes()
        assert "ix_sale_sold_at" not in sale_indexes()
    finally:
        engine.dispose()


def test_guest_policy_columns_come_with_defaults_and_go_keeping_every_row(
    empty_url: str,
) -> None:
    """Migration 0014: code keys computed for existing codes (two that read alike keep both,
    the later one marked), pools' wording derived from their kind, products' policy and
    consents' version defaulted; down drops the columns (and the 'terms' consents) only."""
    upgrade(empty_url, "0012_date_columns_named_on")
    engine = make_engine(empty_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO site (code, name, time_zone, city, description) "
                    "VALUES ('S', 'Site', 'UTC', '', '')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO pool (site_id, code, kind, name) VALUES "
                    "(1, 'kick', 'module', 'Kick plate'), (1, 'gt3', 'vehicle_model', '911 GT3')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO dealer (code, name, city, state, region, email, phone, "
                    "monthly_allotment, active, created_at) VALUES "
                    "('D-1', 'D', 'C', 'GA', 'Southeast', '', '', 0, true, '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO campaign (dealer_id, name, description, drive_from, drive_to, "
                    "created_by, created_at) "
                    "VALUES (1, 'C', '', '2026-01-01', '2026-02-01', '', '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO invitation_code (code, dealer_id, campaign_id, kind, uses, "
                    "created_at) VALUES ('SPRING-2026', 1, 1, 'shared', 0, '2026-01-01'), "
                    "('SPRING2O26', 1, 1, 'shared', 0, '2026-01-01'), "
                    "('CN8T-DMUH-94YP', 1, 1, 'shared', 0, '2026-01-01')"
                )
            )
        upgrade(empty_url)
        with engine.connect() as conn:
            keys = conn.execute(text("SELECT code_key FROM invitation_code ORDER BY id")).all()
            assert [k for (k,) in keys] == ["SPR1NG2026", "SPR1NG2026~2", "CN8TDMUH94YP"]
            wordings = conn.execute(text("SELECT public_name FROM pool ORDER BY id")).all()
            assert [w for (w,) in wordings] == ["track time", "911 GT3 cars"]
            assert conn.execute(text("SELECT phone FROM site")).scalar_one() == ""
        engine.dispose()
        downgrade(empty_url, "0012_date_columns_named_on")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("invitation_code")}
            assert "code_key" not in columns
            assert "public_name" not in {c["name"] for c in inspect(conn).get_columns("pool")}
        assert (count(empty_url, "invitation_code"), count(empty_url, "pool")) == (3, 2)
        engine.dispose()
        upgrade(empty_url)
    finally:
        engine.dispose()
