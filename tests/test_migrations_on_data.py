"""Migrations on real data: the demo world loaded at the head goes down to the head that landed
before this pass and up again, on SQLite and PostgreSQL, losing nothing, and booking works."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import inspect, text

from paddock.bookings import service
from paddock.catalog import service as catalog
from paddock.db import make_engine, make_session_factory
from paddock.demo.loader import load
from paddock.migrate import current, downgrade, upgrade
from tests.factories import at
from tests.test_migrations import empty_url  # noqa: F401 (the fixture: a database of its own)

# The last head that ran in production (the one the previous session landed): every migration
# after it must carry populated databases down and up.
# (Two branches: the booking path's, and motorsport's, which ends at 0004.)
LANDED_HEAD = "0011_throttle_counters"
LANDED_HEADS = {LANDED_HEAD, "0004_motorsport"}
TODAY = date.today()
# A Wednesday at least a week ahead, past the loaded bookings.
WEDNESDAY = TODAY + timedelta(days=7 + (2 - TODAY.weekday()) % 7)


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            tables = sorted(set(inspect(conn).get_table_names()) - {"alembic_version"})
            return {
                table: int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
                for table in tables
            }
    finally:
        engine.dispose()


def test_migrations_since_the_landed_head_carry_the_demo_world(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url)
    heads = current(empty_url)
    engine = make_engine(empty_url, pool_size=2)
    try:
        with make_session_factory(engine)() as session:
            counts = load(session, today=TODAY, days_back=2, days_ahead=2)
        assert counts["bookings"] > 50 and counts["dealers"] > 100
    finally:
        engine.dispose()
    before = _counts(empty_url)

    downgrade(empty_url, LANDED_HEAD)
    assert set(current(empty_url)) == LANDED_HEADS
    upgrade(empty_url)
    assert sorted(current(empty_url)) == sorted(heads)

    after = _counts(empty_url)
    # Tables a new migration adds come back empty; every other table keeps every row.
    assert {t: n for t, n in after.items() if t in before} == before
    catalog.invalidate_cache()
    engine = make_engine(empty_url, pool_size=2)
    try:
        with make_session_factory(engine)() as session:
            booked = service.create_booking(
                session,
                product_code="atl-718-cayman",
                starts_at=at(WEDNESDAY, 10),
                guest=service.Guest("Ann Lee", "ann@example.com"),
            )
            assert booked.resources  # units taken from the migrated pools
    finally:
        engine.dispose()
    assert _counts(empty_url)["booking"] == before["booking"] + 1
