from __future__ import annotations

import typer
from rich.table import Table

from paddock.bookings import service
from paddock.catalog import service as catalog
from paddock.cli_support import console, local, parse_day, parse_instant, session_scope
from paddock.settings import get_settings

bookings_app = typer.Typer(help="Read and change bookings.", no_args_is_help=True)


def show(result: service.BookingResult, time_zone: str) -> None:
    b = result.booking
    console.print(
        f"[bold]{b.ref}[/] {result.product_code} {local(b.starts_at, time_zone)} "
        f"({time_zone}) - [bold]{result.status}[/] - {b.guest_name} <{b.guest_email}>"
    )
    for r in result.resources:
        console.print(
            f"  {r.unit_label}: {local(r.starts_at, time_zone)} to "
            f"{local(r.ends_at, time_zone)[-5:]}"
        )


def book(
    product: str = typer.Argument(..., help="Product code"),
    at: str = typer.Option(..., "--at", help="Start, e.g. 2026-12-01T10:00 (site local time)"),
    name: str = typer.Option(..., help="Guest's name"),
    email: str = typer.Option(..., help="Guest's e-mail"),
    phone: str = typer.Option("", help="Guest's phone"),
    hold: bool = typer.Option(False, help="Only hold the slot (expires on its own)"),
    key: str = typer.Option(None, help="Idempotency key: the same key never books twice"),
) -> None:
    """Book a product for a guest, if every resource it needs is free."""
    from paddock.bookings.schemas import GuestIn

    guest = GuestIn(name=name, email=email, phone=phone)
    with session_scope() as session:
        plan = catalog.product_plan(session, code=product)
        result = service.create_booking(
            session,
            product_code=product,
            starts_at=parse_instant(at, plan.time_zone),
            guest=service.Guest(guest.name, str(guest.email), guest.phone),
            hold=hold,
            hold_minutes=get_settings().hold_minutes,
            idempotency_key=key,
            channel="cli",
            actor="cli",
        )
        show(result, plan.time_zone)


def _zone(session: object, result: service.BookingResult) -> str:
    return catalog.product_plan(session, code=result.product_code).time_zone  # type: ignore[arg-type]


@bookings_app.command("show")
def show_booking(ref: str) -> None:
    """Show a booking with its resources and history."""
    with session_scope() as session:
        result = service.get_booking(session, ref=ref)
        zone = _zone(session, result)
        show(result, zone)
        for entry in service.history(session, ref=ref):
            console.print(f"  {local(entry.at, zone)} {entry.actor}: {entry.action}")


@bookings_app.command("list")
def list_bookings(
    site: str = typer.Option("ATL", help="Site code"),
    day: str = typer.Option(None, help="Local day YYYY-MM-DD (default today)"),
    status: str = typer.Option(None, help="Only this status"),
) -> None:
    """A site's bookings on one local day."""
    from datetime import date

    with session_scope() as session:
        site_row = catalog.get_site(session, code=site)
        when = parse_day(day) if day else date.today()
        start, end = service.local_day_bounds(when, site_row.time_zone)
        table = Table(
            "ref", "start", "product", "status", "guest", title=f"{site_row.name}, {when}"
        )
        rows = service.list_bookings(
            session, site_id=site_row.id, day_from=start, day_to=end, status=status, limit=500
        )
        for r in sorted(rows, key=lambda r: r.booking.starts_at):
            b = r.booking
            table.add_row(
                b.ref,
                local(b.starts_at, site_row.time_zone)[-5:],
                b.product.code,
                r.status,
                b.guest_name,
            )
        console.print(table)


def _transition(name: str, fn: service.Transition) -> None:
    def command(ref: str) -> None:
        with session_scope() as session:
            result = fn(session, ref=ref, actor="cli")
            show(result, _zone(session, result))

    command.__doc__ = f"{name.capitalize()} a booking."
    bookings_app.command(name)(command)


_transition("confirm", service.confirm_booking)
_transition("check-in", service.check_in)
_transition("complete", service.complete)
_transition("no-show", service.mark_no_show)


@bookings_app.command("cancel")
def cancel(ref: str, reason: str = typer.Option("", help="Why")) -> None:
    """Cancel a booking and release its resources."""
    with session_scope() as session:
        result = service.cancel_booking(session, ref=ref, reason=reason, actor="cli")
        show(result, _zone(session, result))


@bookings_app.command("move")
def move(ref: str, at: str = typer.Option(..., "--at", help="New start (site local time)")) -> None:
    """Move a booking to another start time, if that slot has room."""
    with session_scope() as session:
        current = service.get_booking(session, ref=ref)
        zone = _zone(session, current)
        result = service.reschedule(
            session, ref=ref, starts_at=parse_instant(at, zone), actor="cli"
        )
        show(result, zone)


@bookings_app.command("expire-holds")
def expire_holds() -> None:
    """Release holds whose time ran out (the server also does this every 30 s)."""
    with session_scope() as session:
        console.print(f"{service.expire_holds(session)} hold(s) expired.")
