"""`paddock webhooks …`: set a dealer's endpoint, run the dispatcher, read the log, replay."""

from __future__ import annotations

import typer
from rich.table import Table

from paddock.accounts.service import Scope
from paddock.cli_support import console, session_scope, until_stopped
from paddock.dealers import service as dealers
from paddock.settings import get_settings
from paddock.webhooks import service

webhooks_app = typer.Typer(help="Signed webhooks to dealers' CRMs.", no_args_is_help=True)
CLI = Scope.everything("cli")


@webhooks_app.command("set")
def set_endpoint(
    dealer: str = typer.Argument(..., help="Dealer code"),
    url: str = typer.Argument(..., help="Where to POST events"),
    secret: str = typer.Option(None, help="Signing secret (generated if not given)"),
    disable: bool = typer.Option(False, help="Keep the endpoint but stop sending"),
) -> None:
    """Create or change a dealer's endpoint; a generated secret is shown once."""
    with session_scope() as session:
        dealer_id = dealers.get_dealer(session, code=dealer, scope=CLI).id
        endpoint, shown = service.set_endpoint(
            session,
            dealer_id=dealer_id,
            url=url,
            secret=secret,
            active=not disable,
            allow_private=get_settings().webhook_allow_private,
        )
    console.print(f"{dealer.upper()}: {endpoint.url} ({'active' if endpoint.active else 'off'})")
    if shown:
        console.print(f"secret (shown once): [bold]{shown}[/]")


@webhooks_app.command("dispatch")
def dispatch(
    loop: bool = typer.Option(False, "--loop", help="Keep running until interrupted"),
    interval: float = typer.Option(5.0, help="Seconds between passes with --loop"),
    max_attempts: int = typer.Option(10, help="Attempts before an event is dead"),
) -> None:
    """Send due events: once, or continuously with --loop (Ctrl-C stops it)."""
    policy = service.RetryPolicy(max_attempts=max_attempts)
    settings = get_settings()
    if not loop:
        with session_scope() as session:
            report = service.dispatch(
                session, policy=policy, allow_private=settings.webhook_allow_private
            )
        console.print(_summary(report))
        return
    until_stopped(
        f"dispatching every {interval:g} s; Ctrl-C to stop",
        lambda factory, stop: service.dispatch_forever(
            factory,
            interval=interval,
            stop=stop,
            policy=policy,
            on_report=lambda r: console.print(_summary(r)),
            allow_private=settings.webhook_allow_private,
        ),
    )


@webhooks_app.command("events")
def events(
    dealer: str = typer.Option(None, help="Only this dealer (code)"),
    status: str = typer.Option(None, help="pending, delivered or dead"),
    after: int = typer.Option(None, help="Page after this event id"),
    limit: int = typer.Option(50, help="At most this many"),
) -> None:
    """The outbox and what became of each event."""
    with session_scope() as session:
        dealer_id = dealers.get_dealer(session, code=dealer, scope=CLI).id if dealer else None
        rows = service.list_events(
            session, dealer_id=dealer_id, status=status, after_id=after, limit=limit
        )
        table = Table("id", "type", "booking", "status", "attempts", "last", "next attempt")
        for e in rows:
            table.add_row(
                str(e.id),
                e.event_type,
                str(e.booking_id or ""),
                e.status,
                str(e.attempts),
                str(e.last_status_code or (e.last_error[:30] if e.last_error else "")),
                f"{e.next_attempt_at:%Y-%m-%d %H:%M:%S}" if e.status == "pending" else "",
            )
        console.print(table)


@webhooks_app.command("replay")
def replay(
    event_ids: list[int] = typer.Argument(None, help="Event ids"),
    dead: bool = typer.Option(False, "--dead", help="Every dead event"),
    dealer: str = typer.Option(None, help="Only this dealer's (code)"),
) -> None:
    """Send events again from a fresh attempt count."""
    with session_scope() as session:
        dealer_id = dealers.get_dealer(session, code=dealer, scope=CLI).id if dealer else None
        count = service.replay(
            session, event_ids=event_ids or [], all_dead=dead, dealer_id=dealer_id
        )
    console.print(f"{count} event(s) queued again.")


def _summary(report: service.DispatchReport) -> str:
    return (
        f"{report.claimed} sent: {report.delivered} delivered, {report.failed} to retry, "
        f"{report.dead} dead"
    )
