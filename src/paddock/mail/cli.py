"""`paddock mail …`: read the outbox, send it (once or in a loop), replay dead letters, queue
the day-before reminders, run a local SMTP server for the demo."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import typer
from rich.table import Table

from paddock import outbox
from paddock.cli_support import console, fail, session_scope, until_stopped
from paddock.mail import messages, reminders, sender
from paddock.mail.models import MailMessage
from paddock.settings import get_settings

mail_app = typer.Typer(help="E-mail: the outbox and its sender.", no_args_is_help=True)


@mail_app.command("outbox")
def show_outbox(
    status: str = typer.Option(None, help="pending, delivered, dead or skipped"),
    kind: str = typer.Option(None, help="e.g. booking_confirmed, password_reset"),
    limit: int = typer.Option(50, help="At most this many, latest first"),
) -> None:
    """The outbox: each message's status, attempts, next attempt and last error."""
    with session_scope() as session:
        rows = messages.list_messages(session, status=status, kind=kind, limit=limit)
        table = Table("id", "kind", "to", "booking", "status", "attempts", "next attempt", "error")
        for m in rows:
            table.add_row(
                str(m.id),
                m.kind,
                m.recipient or "-",
                str(m.booking_id or "-"),
                m.status,
                str(m.attempts),
                f"{m.next_attempt_at:%Y-%m-%d %H:%M:%S}" if m.status == "pending" else "-",
                m.last_error or "",
            )
    console.print(table if rows else "The outbox is empty.")


@mail_app.command("send")
def send(
    loop: bool = typer.Option(False, "--loop", help="Keep sending until interrupted"),
    interval: float = typer.Option(5.0, help="Seconds between passes with --loop"),
) -> None:
    """Send due messages: once, or continuously with --loop (Ctrl-C stops it)."""
    settings = get_settings()
    mail = sender.MailSettings.from_settings(settings)
    if not settings.smtp_host:
        raise fail("No SMTP server is configured: set PADDOCK_SMTP_HOST (and its port).")
    if not loop:
        with session_scope() as session:
            report = sender.send_due(session, mail)
        console.print(_summary(report))
        return
    until_stopped(
        f"sending every {interval:g} s through {settings.smtp_host}; Ctrl-C to stop",
        lambda factory, stop: sender.send_forever(
            factory,
            mail,
            interval=interval,
            stop=stop,
            on_report=lambda r: console.print(_summary(r)),
        ),
    )


@mail_app.command("replay")
def replay(
    ids: list[int] = typer.Argument(None, help="Message ids"),
    all_dead: bool = typer.Option(False, "--all-dead", help="Every dead message"),
) -> None:
    """Send dead (or sent) messages again, from a fresh attempt count."""
    with session_scope() as session:
        count = outbox.replay(session, MailMessage, ids=ids or [], all_dead=all_dead)
    console.print(f"{count} message(s) queued again")


@mail_app.command("reminders")
def queue_reminders() -> None:
    """Queue the reminders of tomorrow's bookings now (the server's job does it hourly)."""
    with session_scope() as session:
        count = reminders.enqueue_reminders(session)
    console.print(f"{count} reminder(s) queued")


@mail_app.command("dev-server")
def dev_server(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8025, help="Port"),
    folder: Path = typer.Option(Path("var/mail"), help="Where each message is kept as .eml"),
) -> None:
    """A local SMTP server that keeps what it receives (demo and tests; delivers nowhere).
    Point Paddock at it: PADDOCK_SMTP_HOST=127.0.0.1 PADDOCK_SMTP_PORT=8025
    PADDOCK_SMTP_SECURITY=none PADDOCK_SMTP_ALLOW_PRIVATE=1."""
    from paddock.mail.devserver import DevServer

    server = DevServer(host, port, folder, echo=True).start()
    console.print(f"SMTP on {host}:{server.port}; messages in {folder}/; Ctrl-C to stop")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _summary(report: sender.SendReport) -> str:
    return (
        f"{report.claimed} due: {report.delivered} sent, {report.failed} to retry, "
        f"{report.dead} dead, {report.skipped} skipped"
    )
