"""`paddock desk`: the operations desk at a terminal. A booking taken by phone, a cancellation
with its reason, a unit blocked with its bookings moved, the day's run sheet."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from paddock.bookings import desk, service
from paddock.bookings.cli import show
from paddock.capacity import coaches, operations
from paddock.catalog import service as catalog
from paddock.cli_support import console, local, parse_day, parse_instant, session_scope

desk_app = typer.Typer(help="The operations desk: phone bookings, cancellations, blocks.")
ACTOR = "cli"


@desk_app.command("book")
def book(
    product: str = typer.Argument(..., help="Product code"),
    at: str = typer.Option(..., "--at", help="Start, e.g. 2026-12-01T10:00 (site local time)"),
    name: str = typer.Option(..., help="Guest's name"),
    email: str = typer.Option(..., help="Guest's e-mail"),
    phone: str = typer.Option("", help="Guest's phone"),
    notes: str = typer.Option("", help="Notes for the team"),
) -> None:
    """Book for a guest on the phone (confirmed at once, channel "phone")."""
    from paddock.bookings.schemas import GuestIn

    guest = GuestIn(name=name, email=email, phone=phone)
    with session_scope() as session:
        plan = catalog.product_plan(session, code=product)
        result = desk.take_phone_booking(
            session,
            product_code=product,
            starts_at=parse_instant(at, plan.time_zone),
            guest=service.Guest(guest.name, str(guest.email), guest.phone, notes),
            actor=ACTOR,
        )
        show(result, plan.time_zone)


@desk_app.command("cancel")
def cancel(
    ref: str = typer.Argument(..., help="Booking reference"),
    reason: str = typer.Option(..., help="Why (kept on the booking)"),
) -> None:
    """Cancel a booking for the guest, with a reason; no guest deadline applies."""
    with session_scope() as session:
        result = desk.cancel_with_reason(session, ref=ref, reason=reason, actor=ACTOR)
        show(result, catalog.product_plan(session, code=result.product_code).time_zone)


@desk_app.command("block")
def block(
    unit: str = typer.Argument(..., help="Unit id, label or VIN"),
    date_from: str = typer.Option(..., "--from", help="Start, e.g. 2026-12-01T08:00 (local)"),
    date_to: str = typer.Option(..., "--to", help="End, e.g. 2026-12-01T18:00 (local)"),
    reason: str = typer.Option(..., help="Why, e.g. 'Warning light'"),
    kind: str = typer.Option("repair", help="maintenance, repair, leave, training, other"),
    site: str = typer.Option(None, help="Site code, when a label is used at several sites"),
) -> None:
    """Block a unit and move its bookings then to free units of the same model; lists the
    guests to call for those that could not be moved."""
    with session_scope() as session:
        found = operations.find_unit(session, ref=unit, site_code=site)
        zone = operations.get_site_of(session, found).time_zone
        report = desk.block_and_move(
            session,
            unit_id=found.id,
            starts_at=parse_instant(date_from, zone),
            ends_at=parse_instant(date_to, zone),
            reason=reason,
            kind=kind,
            actor=ACTOR,
        )
        console.print(f"blocked {found.label} (block #{report.outcome.block.id})")
        for m in report.moved:
            console.print(
                f"  moved {m.ref} {local(m.starts_at, zone)} {m.guest_name}: "
                f"{m.from_unit} -> {m.to_unit}"
            )
        for c in report.to_call:
            console.print(
                f"  [bold]call[/] {c.ref} {local(c.starts_at, zone)} {c.guest_name} "
                f"{c.guest_phone or '-'} <{c.guest_email}>: no free unit, still on {c.unit}"
            )
        for h in report.others:
            console.print(f"  still on {h.unit_label}: {h.kind} #{h.id}")


@desk_app.command("run-sheet")
def run_sheet(
    site: str = typer.Option("ATL", help="Site code"),
    day: str = typer.Option(None, help="Local day YYYY-MM-DD (default today)"),
) -> None:
    """The day's bookings in start order with guests, phones and units."""
    with session_scope() as session:
        sheet = desk.run_sheet(session, site_code=site, day=parse_day(day) if day else date.today())
        table = Table(
            "time",
            "ref",
            "status",
            "product",
            "guest",
            "phone",
            "units",
            title=f"{sheet.site_name}, {sheet.day}",
        )
        for line in sheet.lines:
            table.add_row(
                local(line.starts_at, sheet.time_zone)[-5:],
                line.ref,
                line.status,
                line.product,
                line.guest_name,
                line.guest_phone,
                ", ".join(line.units),
            )
        console.print(table)


@desk_app.command("link-coach")
def link_coach(
    email: str = typer.Argument(..., help="The coach's sign-in e-mail"),
    unit: str = typer.Argument(..., help="The coach unit: id or label"),
    site: str = typer.Option(None, help="Site code, when a label is used at several sites"),
) -> None:
    """Link a coach's account to their coach unit: they see their own day in the console."""
    with session_scope() as session:
        found = operations.find_unit(session, ref=unit, site_code=site)
        linked = coaches.link_coach(session, email=email, unit_id=found.id, actor=ACTOR)
        console.print(f"{email} is {linked.label}")
