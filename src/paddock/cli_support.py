"""What every CLI module shares: a session on PADDOCK_DATABASE_URL, readable errors, times."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

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


def until_stopped(work: Callable[[sessionmaker[Session], threading.Event], None]) -> None:
    """Run a long-lived worker (`--loop`) on its own engine until Ctrl-C or SIGTERM sets
    `stop`."""
    engine = make_engine(get_settings().database_url, pool_size=2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        work(make_session_factory(engine), stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        engine.dispose()
