"""What every CLI module shares: a session on PADDOCK_DATABASE_URL, readable errors, times."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from paddock.db import make_engine, make_session_factory
from paddock.settings import get_settings

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per error, however long


@contextmanager
def session_scope() -> Iterator[Session]:
    settings = get_settings()
    engine = make_engine(
        settings.database_url, pool_size=2, lock_timeout_ms=settings.lock_timeout_ms
    )
    session = make_session_factory(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def titled_table(title: str, *columns: str, figures: Collection[str] = ()) -> Table:
    """A table titled on the left with these columns, `figures` among them right-aligned."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in figures else "left")
    return table


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
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
