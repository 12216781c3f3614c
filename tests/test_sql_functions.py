"""The database's functions are whole in one file each (`<package>/sql/<name>.sql`), and every
migration holds a frozen copy of what it installs: a file changed without a migration (or a
migration without the file) fails here."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

import paddock
from paddock.db import make_engine

PACKAGE = Path(paddock.__file__).parent
CANONICAL = sorted(PACKAGE.glob("*/sql/*.sql"))
VERSIONS = PACKAGE / "migrations" / "versions"
# A migration is history: it may lean on Alembic and SQLAlchemy, not on other migrations, the
# package's .sql files, or anything else that can change after it.
MIGRATION_IMPORTS = {"__future__", "collections", "alembic", "sqlalchemy"}

# The public schema's own functions (not an extension's, such as btree_gist's).
FUNCTIONS = """
SELECT p.proname, p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
 ORDER BY p.proname, p.oid
"""


def frozen_copy_faults(path: Path) -> list[str]:
    """What in a migration's source does not freeze what it installs."""
    faults = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or "."]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            modules = []
        faults += [
            f"{where} imports {m}" for m in modules if m.split(".")[0] not in MIGRATION_IMPORTS
        ]
        if isinstance(node, ast.Attribute) and node.attr in {"replace", "get_revision"}:
            faults.append(f"{where} patches SQL or loads another revision ({node.attr})")
        if isinstance(node, ast.Name) and node.id == "open":
            faults.append(f"{where} reads a file")
    return faults


def test_no_migration_loads_another_or_patches_its_sql() -> None:
    migrations = sorted(VERSIONS.glob("*.py"))
    assert len(migrations) >= 11
    assert [fault for path in migrations for fault in frozen_copy_faults(path)] == []


def test_the_scan_finds_a_migration_that_patches_another(tmp_path: Path) -> None:
    patched = tmp_path / "patched.py"
    patched.write_text(
        "from alembic import context, op\n"
        "import importlib\n"
        "from paddock.capacity import sql\n"
        "def upgrade():\n"
        "    previous = context.script.get_revision('0005')\n"
        "    op.execute(previous.module.SQL.replace('a', 'b'))\n"
        "    op.execute(open('capacity_take.sql').read())\n"
    )
    assert len(frozen_copy_faults(patched)) == 5


def test_each_canonical_file_is_one_whole_function() -> None:
    assert len(CANONICAL) >= 10
    for path in CANONICAL:
        sql = path.read_text()
        assert sql.startswith(f"CREATE OR REPLACE FUNCTION {path.stem}("), path
        assert sql.count("CREATE OR REPLACE FUNCTION") == 1, path


@pytest.fixture
def head(postgres_database: str) -> Iterator[Connection]:
    """A connection to a database at the head, in a transaction that is rolled back."""
    engine = make_engine(postgres_database, pool_size=1)
    try:
        with engine.connect() as conn:
            yield conn
            conn.rollback()
    finally:
        engine.dispose()


def installed(conn: Connection) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for name, oid in conn.exec_driver_sql(FUNCTIONS):
        found.setdefault(name, []).append(oid)
    return found


@pytest.mark.postgres
def test_every_installed_function_has_its_file(head: Connection) -> None:
    assert sorted(installed(head)) == sorted(path.stem for path in CANONICAL)


@pytest.mark.postgres
@pytest.mark.parametrize("path", CANONICAL, ids=lambda path: path.stem)
def test_the_migrations_install_the_canonical_file(head: Connection, path: Path) -> None:
    """Running the file over the migrated function changes nothing: PostgreSQL's own account of
    it (signature, result, settings, body) stays the same, and no second one appears."""

    def definitions() -> list[str]:
        return [
            head.exec_driver_sql("SELECT pg_get_functiondef(%s)", (oid,)).scalar_one()
            for oid in installed(head).get(path.stem, [])
        ]

    migrated = definitions()
    assert len(migrated) == 1
    # The driver's own cursor, without parameters: the SQL's % signs are format()'s.
    head.connection.cursor().execute(path.read_text())
    assert definitions() == migrated, (
        f"{path.name} differs from what the migrations install: to change an SQL function, "
        "edit its file and add a migration with a frozen copy"
    )
