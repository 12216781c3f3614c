"""What every CLI module shares: a session on PADDOCK_DATABASE_URL, readable errors, times."""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from paddock.db import make_engine, make_session_factory
from paddock.settings import get_settings

# Columns holding a code another command takes (a booking's ref, a request's code...): shown
# whole in every table, however narrow the terminal; the other columns wrap instead.
CODE_HEADERS = frozenset(
    {"ref", "code", "request", "dealer", "campaign", "site", "product", "unit", "token", "vin"}
)


def keep_codes_whole(table: Table) -> None:
    for column in table.columns:
        if str(column.header).strip().lower() not in CODE_HEADERS:
            continue
        widths = [
            (Text.from_markup(cell) if isinstance(cell, str) else Text(str(cell))).cell_len
            for cell in column.cells
        ]
        column.no_wrap = True
        column.min_width = max([column.min_width or 0, *widths])


class _Console(Console):
    """Rich's console, keeping the codes of every table it prints whole."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        for shown in objects:
            if isinstance(shown, Table):
                keep_codes_whole(shown)
        super().print(*objects, **kwargs)


console = _Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per error, however long
UPGRADE = "run 'paddock db upgrade' first"


def missing_sqlite_file(url: str) -> str | None:
    """The SQLite file the URL names when it does not exist (connecting would create it)."""
    name = _sqlite_file(url)
    return None if name is None or Path(name).exists() else name


def _sqlite_file(url: str) -> str | None:
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or "mode=memory" in url:
        return None
    return name


def _has_schema(conn: Connection) -> bool:
    try:
        return bool(conn.execute(text("SELECT count(*) FROM alembic_version")).scalar())
    except DBAPIError:
        return False


def _sqlite_has_schema(name: str) -> bool:
    """Read only: an empty or foreign file is not written to (no journal mode set)."""
    with closing(sqlite3.connect(f"{Path(name).resolve().as_uri()}?mode=ro", uri=True)) as conn:
        try:
            return bool(conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0])
        except sqlite3.DatabaseError:
            return False


def migrated_engine(*, pool_size: int = 2) -> Engine:
    """An engine on PADDOCK_DATABASE_URL, once the migrations have made its schema; else one
    readable line, and no file made or written."""
    settings = get_settings()
    url = settings.database_url
    name = _sqlite_file(url)
    if name is not None and not Path(name).exists():
        raise fail(f"no database at {name}: {UPGRADE}")
    if name is not None and not _sqlite_has_schema(name):
        raise fail(f"the database has no schema yet: {UPGRADE}")
    engine = make_engine(url, pool_size=pool_size, lock_timeout_ms=settings.lock_timeout_ms)
    if name is None:
        with engine.connect() as conn:
            migrated = _has_schema(conn)
        if not migrated:
            engine.dispose()
            raise fail(f"the database has no schema yet: {UPGRADE}")
    return engine


@contextmanager
def session_scope() -> Iterator[Session]:
    engine = migrated_engine()
    session = make_session_factory(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def report_error(message: str) -> None:
    """The one error style: `error: …` on one line of standard error (the text as is)."""
    errors.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)


def titled_table(title: str, *columns: str, figures: Collection[str] = ()) -> Table:
    """A table titled on the left with these columns, `figures` among them right-aligned."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in figures else "left")
    return table


def fail(message: str) -> typer.Exit:
    report_error(message)
    return typer.Exit(code=1)


def parse_day(text: str) -> date:
    """A day given as YYYY-MM-DD; anything else is one readable error line."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"'{text}' is not a date like 2026-12-01") from exc


def parse_instant(text: str, time_zone: str) -> datetime:
    """An ISO time; without an offset it is read in the site's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"'{text}' is not a date-time like 2026-12-01T10:00") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return moment


def local(moment: datetime, time_zone: str) -> str:
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def until_stopped(
    started: str, work: Callable[[sessionmaker[Session], threading.Event], None]
) -> None:
    """Run a long-lived worker (`--loop`) on its own engine until Ctrl-C or SIGTERM sets
    `stop`; `started` is said once the database is known to be migrated."""
    engine = migrated_engine()
    console.print(started)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        work(make_session_factory(engine), stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        engine.dispose()
