"""Migration 0017: the sites' opening day, targets and kind are added in place and removed
again, every site (and what hangs on it) kept; a site of support pools selling nothing becomes
the motorsport site. On SQLite and PostgreSQL, in a database of its own."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect, text

from paddock.capacity.models import Pool, Site
from paddock.db import make_engine, make_session_factory
from paddock.migrate import downgrade, upgrade
from paddock.motorsport.models import SupportPool
from tests.factories import make_world
from tests.test_migrations import empty_url  # noqa: F401 (the fixture: a database of its own)

COLUMNS = {"opens_on", "drivers_target", "dealer_share_target_bp", "kind"}


def test_site_year_one_goes_down_and_up(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url)
    engine = make_engine(empty_url, pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            world = make_world(session)
            world.site.opens_on, world.site.drivers_target = date(2031, 5, 14), 12_000
            support = Site(code="MSP", name="Support", time_zone="Europe/Berlin")
            session.add(support)
            session.flush()
            pool = Pool(site_id=support.id, code="eng", kind="engineer", name="Engineers")
            session.add(pool)
            session.flush()
            session.add(SupportPool(pool_id=pool.id))
            session.commit()

        def columns() -> set[str]:
            return {str(c["name"]) for c in inspect(engine).get_columns("site")}

        def rows(sql: str) -> list[tuple[object, ...]]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]

        units = rows("SELECT count(*) FROM unit")
        downgrade(empty_url, "0012_date_columns_named_on")
        engine.dispose()
        assert not COLUMNS & columns()
        assert rows("SELECT code FROM site ORDER BY id") == [("TST",), ("MSP",)]
        assert rows("SELECT count(*) FROM unit") == units  # no cascade from a table copy
        upgrade(empty_url)
        engine.dispose()
        assert COLUMNS <= columns()
        assert rows("SELECT code, kind, opens_on FROM site ORDER BY id") == [
            ("TST", "experience", None),
            ("MSP", "motorsport", None),
        ]
    finally:
        engine.dispose()
