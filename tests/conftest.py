"""Test databases: a migrated SQLite file copied per test, and (marker `postgres`) a PostgreSQL
database made for this run, emptied between tests. Both are migrated by Alembic, as in prod."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from paddock import throttle
from paddock.app import create_app
from paddock.catalog import service as catalog_service
from paddock.db import make_engine, make_session_factory
from paddock.migrate import upgrade
from paddock.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "PADDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# pytest-xdist workers inherit COLUMNS and LINES (80x24): Rich would fix every CLI console at
# that size on import, and a test's COLUMNS could no longer widen the output.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(autouse=True)
def _still_throttle_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttles' windows are aligned on the clock (60 s, 5 and 15 minutes, a day): a test
    that crossed a window's end would see its count split in two (it happened in CI). Their
    clock stands still in tests, 30 s into every window; tests of time pass `now`."""
    day = int(time.time()) // 86_400 * 86_400
    monkeypatch.setattr(throttle, "clock", lambda: float(day + 43_230))


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    catalog_service.invalidate_cache()
    yield
    catalog_service.invalidate_cache()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "paddock.db"
    upgrade(f"sqlite:///{path}")
    return path


# Per test database URL: the statement that empties it for the next test.
_EMPTYING: dict[str, str] = {}


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    if not postgres_available():
        if os.environ.get("PADDOCK_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL server not reachable (set PADDOCK_TEST_POSTGRES_URL)")
    name = f"paddock_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade(url)
    _EMPTYING[url] = _emptying_statement(url)
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _emptying_statement(url: str) -> str:
    """DELETE from every table the migrations left empty (tables they fill, such as a numbers
    table, are reference data and stay), and restart those tables' ids. With triggers off this
    costs a few ms where TRUNCATE of fifty tables costs ~0.5 s (it makes new files)."""
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            )
            .scalars()
            .all()
        )
        empty = [
            t
            for t in tables
            if conn.execute(text(f'SELECT NOT EXISTS (SELECT 1 FROM "{t}")')).scalar()
        ]
        sequences = (
            conn.execute(
                text(
                    "SELECT DISTINCT s.relname FROM pg_class s "
                    "JOIN pg_depend d ON d.objid = s.oid "
                    "JOIN pg_class t ON d.refobjid = t.oid "
                    "WHERE s.relkind = 'S' AND t.relname = ANY(:tables)"
                ),
                {"tables": empty},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    body = "".join(f'DELETE FROM "{t}"; ' for t in empty)
    body += "".join(f'ALTER SEQUENCE "{q}" RESTART; ' for q in sequences)
    return f"DO $$ BEGIN SET LOCAL session_replication_role = replica; {body}END $$;"


def _empty_postgres(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_EMPTYING[url])
    finally:
        engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "paddock.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only, for tests of SQLite-specific behaviour or that need no second run."""
    path = tmp_path / "paddock.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=5, lock_timeout_ms=5000)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, environment="test", hold_minutes=10)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, sweeper=False)) as test_client:
        yield test_client
