"""The `paddock` command: every domain's commands under one roof."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import OperationalError

# Typer carries its own copy of Click; its usage errors are raised from there.
from typer._click import exceptions as usage
from typer._click.core import Context as UsageContext

from paddock import __version__
from paddock.accounts.cli import tokens_app, users_app
from paddock.analytics.cli import kpi
from paddock.bookings.cli import book, bookings_app
from paddock.bookings.desk_cli import desk_app
from paddock.bootstrap import register_domains
from paddock.capacity.cli import fleet_app, sites_app
from paddock.catalog.cli import availability, products_app
from paddock.cli_support import (
    UPGRADE,
    console,
    fail,
    migrated_engine,
    missing_sqlite_file,
    report_error,
    session_scope,
)
from paddock.crm.cli import crm_app
from paddock.dealers.cli import campaigns_app, dealers_app, invitations_app
from paddock.errors import DomainError
from paddock.mail.cli import mail_app
from paddock.motorsport.cli import motorsport_app
from paddock.rollup.cli import rollup_app
from paddock.settings import get_settings
from paddock.webhooks.cli import webhooks_app

app = typer.Typer(
    help="Paddock: customer programmes admitted only when the capacity exists.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo world.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(sites_app, name="sites")
app.add_typer(products_app, name="products")
app.add_typer(bookings_app, name="bookings")
app.add_typer(desk_app, name="desk")
app.add_typer(fleet_app, name="fleet")
# The one sites group; `site` is the name it had for pools and closures, kept for scripts.
app.add_typer(sites_app, name="site", hidden=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(motorsport_app, name="motorsport")
app.add_typer(dealers_app, name="dealers")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(invitations_app, name="invitations")
app.add_typer(crm_app, name="crm")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(mail_app, name="mail")
app.add_typer(rollup_app, name="rollup")
app.command("kpi")(kpi)
app.command("availability")(availability)
app.command("book")(book)
register_domains()


def _show_version(shown: bool) -> None:
    if shown:
        console.print(f"paddock {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Paddock: customer programmes admitted only when the capacity exists."""


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Migrate the database (PADDOCK_DATABASE_URL) to the latest schema."""
    from paddock.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    console.print("database is up to date")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to a revision ('base' empties it)."""
    from paddock.migrate import downgrade

    _refuse_missing_file()
    downgrade(get_settings().database_url, revision)
    console.print(f"database downgraded to {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision(s) the database is at."""
    from paddock.migrate import current

    _refuse_missing_file()
    console.print(", ".join(current(get_settings().database_url)) or "empty database")


def _refuse_missing_file() -> None:
    missing = missing_sqlite_file(get_settings().database_url)
    if missing is not None:
        raise fail(f"no database at {missing}: {UPGRADE}")


@demo_app.command("load")
def demo_load(
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if data exists"),
    seed: int = typer.Option(None, help="Random seed (default PADDOCK_DEMO_SEED)"),
) -> None:
    """Load the deterministic demo world into an empty, migrated database."""
    from sqlalchemy import func, select

    from paddock.capacity.models import Site
    from paddock.demo import loader

    with session_scope() as session:
        if if_empty and session.scalar(select(func.count()).select_from(Site)):
            console.print("demo world already loaded")
            return
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=console
        ) as progress:
            tasks: dict[str, object] = {}

            def report(site: str, done: int, total: int) -> None:
                if site not in tasks:
                    tasks[site] = progress.add_task(f"history {site}", total=total)
                progress.update(tasks[site], completed=done)  # type: ignore[arg-type]

            counts = loader.load(
                session,
                seed=seed if seed is not None else get_settings().demo_seed,
                progress=report,
            )
    console.print(", ".join(f"{v} {k}" for k, v in counts.items()) + " loaded", soft_wrap=True)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port"),
    workers: int = typer.Option(
        0, min=0, max=64, help="Worker processes (0: one per CPU core)", show_default=False
    ),
    access_log: bool = typer.Option(False, help="Log every request"),
) -> None:
    """Serve the web UI and the API."""
    import os

    import uvicorn

    # Python runs one request's code at a time per process: one process per core uses the
    # machine, and a database wait in one worker leaves the core to the others.
    migrated_engine().dispose()  # a missing or empty database: one line, no file made
    workers = workers or os.cpu_count() or 1
    # Fewer malloc arenas: each request thread would otherwise grow its own, and the resident
    # memory of a worker with them (read by the worker processes this starts).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    from paddock.web import assets

    # Compressed once here, read by every worker (brotli of Plotly's bundle takes seconds).
    assets.registry.cache = get_settings().cache_dir / "assets"
    assets.registry.warm()
    console.print(f"Paddock on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    # X-Forwarded-For/-Proto from the proxies PADDOCK_TRUSTED_PROXIES names, and nobody else
    # (uvicorn would believe 127.0.0.1 by default: any local process could pose as anyone).
    proxies = get_settings().trusted_proxies
    uvicorn.run(
        "paddock.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="warning",
        backlog=2048,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or "",
        server_header=False,  # no "server: uvicorn" banner
        # A worker importing the app on a loaded machine can take more than uvicorn's 5 s to
        # answer its first health check; it was then killed and started again, for ever.
        timeout_worker_healthcheck=60,
        # The workers share one socket: accept one connection at a time, least busy first.
        loop="paddock.serving:new_event_loop",
    )


def main() -> None:
    """The `paddock` command. Every error is one line on standard error, `error: …`, and a
    non-zero exit: bad usage (2), a refused or failed command (1)."""
    try:
        code = app(standalone_mode=False)
    except usage.NoArgsIsHelpError as exc:
        if exc.ctx is not None:
            print_help(exc.ctx)
        raise SystemExit(0) from None
    except usage.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        raise SystemExit(_die(exc.format_message() + where, 2)) from None
    except usage.ClickException as exc:
        raise SystemExit(_die(exc.format_message(), exc.exit_code)) from None
    except typer.Abort:
        raise SystemExit(_die("aborted", 1)) from None
    except DomainError as exc:
        raise SystemExit(_die(exc.detail)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SystemExit(_die(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")) from None
    except OperationalError as exc:
        raise SystemExit(_die(f"database error: {exc.orig}")) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def print_help(ctx: UsageContext) -> None:
    text = ctx.get_help()  # Typer's rich help prints itself and gives ""
    if text:
        console.print(text, highlight=False)


def _die(message: str, code: int = 1) -> int:
    report_error(message)
    return code


if __name__ == "__main__":
    main()
    sys.exit(0)
