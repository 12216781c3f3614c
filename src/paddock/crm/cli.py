"""`paddock crm …`: people, linking, sales imports, merge, export, erasure and deliveries
(centre staff's view: every dealer)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from paddock import csv_files
from paddock.accounts.service import Scope
from paddock.catalog import service as catalog
from paddock.cli_support import console, errors, local, parse_instant, session_scope
from paddock.crm import service
from paddock.dealers import service as dealers
from paddock.errors import Invalid
from paddock.settings import get_settings

crm_app = typer.Typer(help="People, sales, conversions and deliveries.", no_args_is_help=True)
CLI = Scope.everything("cli")


@crm_app.command("link")
def link() -> None:
    """Link new bookings to people by e-mail (the server also does this every few seconds)."""
    with session_scope() as session:
        report = service.link_bookings(session)
    console.print(f"{report.linked} booking(s) linked, {report.people_created} new people.")


@crm_app.command("people")
def people(
    dealer: str = typer.Option(None, help="Only this dealer's contacts (code)"),
    kind: str = typer.Option(None, help="prospect or client"),
    search: str = typer.Option(None, help="E-mail prefix or part of the name"),
    after: int = typer.Option(None, help="Page after this id"),
    limit: int = typer.Option(50, help="At most this many"),
) -> None:
    """People, by id (keyset pages: pass the last id as --after)."""
    with session_scope() as session:
        dealer_id = dealers.get_dealer(session, code=dealer, scope=CLI).id if dealer else None
        rows = service.list_people(
            session, dealer_id=dealer_id, kind=kind, search=search, after_id=after, limit=limit
        )
        codes = service.dealer_codes(session, [p.dealer_id for p in rows])
        table = Table("id", "name", "e-mail", "kind", "dealer", "consents")
        for p in rows:
            consents = ",".join(
                name
                for name, flag in (
                    ("mail", p.consent_marketing_email),
                    ("phone", p.consent_phone),
                    ("dealer", p.consent_dealer_sharing),
                )
                if flag
            )
            dealer_code = codes.get(p.dealer_id, "") if p.dealer_id else ""
            table.add_row(str(p.id), p.name, p.email or "", p.kind, dealer_code, consents)
        console.print(table)


@crm_app.command("show")
def show(person_id: int) -> None:
    """A person with their visits and vehicles."""
    with session_scope() as session:
        person = service.get_person(session, person_id=person_id)
        console.print(f"[bold]#{person.id} {person.name}[/] <{person.email}> {person.kind}")
        for v in service.visits(session, person_id=person_id):
            console.print(
                f"  {v.ref} {v.product_code} {v.starts_at:%Y-%m-%d %H:%M} UTC {v.status}"
                f" ({v.kind_at_visit}{', via ' + v.dealer_code if v.dealer_code else ''})"
            )
        for vehicle, dealer, ref in service.vehicles_of(session, person_id=person_id):
            console.print(
                f"  car: {vehicle.model} {vehicle.vin or ''} from {dealer or '-'}"
                f"{', delivered in ' + ref if ref else ''}"
            )


@crm_app.command("merge")
def merge(
    survivor: int = typer.Argument(..., help="The person who stays"),
    duplicate: int = typer.Argument(..., help="The duplicate merged into them"),
    admin: bool = typer.Option(False, help="Allow people of two different dealers"),
) -> None:
    """Merge a duplicate person into another, in one transaction."""
    with session_scope() as session:
        result = service.merge_people(
            session, survivor_id=survivor, duplicate_id=duplicate, actor="cli", is_admin=admin
        )
    moved = ", ".join(f"{v} {k}" for k, v in result.moved.items())
    console.print(f"#{duplicate} merged into #{survivor}: {moved}.")


@crm_app.command("export")
def export(
    person_id: int,
    output: Path = typer.Option(None, "--output", "-o", help="Write the JSON here"),
) -> None:
    """Everything held about one person, as JSON."""
    with session_scope() as session:
        document = service.export_person(session, person_id=person_id, actor="cli")
    text = json.dumps(document, indent=2, default=str)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"written to {output}")
    else:
        print(text)


@crm_app.command("erase")
def erase(
    person_id: int,
    yes: bool = typer.Option(False, "--yes", help="Confirm: erasure cannot be undone"),
    reason: str = typer.Option("", help="Why (kept as 'a reason was given' only)"),
) -> None:
    """Erase a person's data on request (anonymised everywhere; KPIs keep their counts)."""
    if not yes:
        raise Invalid("Erasure cannot be undone: add --yes to go ahead.")
    with session_scope() as session:
        counts = service.erase_person(session, person_id=person_id, actor="cli", reason=reason)
    console.print("erased: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@crm_app.command("import-sales")
def import_sales(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file"),
    dealer: str = typer.Option(None, help="Import as this dealer (else the 'dealer' column)"),
    dry_run: bool = typer.Option(False, help="Only check the file"),
) -> None:
    """Import sales (columns email, name, model, sold_on, deal_ref; optional phone, vin, year,
    dealer). All rows or none; every rejected row is listed with its reason."""
    text = csv_files.decode(file.read_bytes(), what=str(file))
    with session_scope() as session:
        dealer_id = dealers.get_dealer(session, code=dealer, scope=CLI).id if dealer else None
        try:
            report = service.import_sales_csv(
                session,
                text=text,
                dealer_id=dealer_id,
                source="csv" if dealer_id else "system",
                actor="cli",
                window_days=get_settings().conversion_window_days,
                dry_run=dry_run,
            )
        except Invalid as exc:
            for row in exc.extra.get("errors", []):
                errors.print(f"row {row['row']}: {row['field']}: {row['message']}", highlight=False)
            raise
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{report.rows} row(s) checked, {verb} {report.imported or report.rows}; "
        f"{report.conversions} conversion(s)."
    )


@crm_app.command("deliver")
def deliver(
    person_id: int = typer.Option(..., "--person", help="The customer (person id)"),
    vin: str = typer.Option(..., help="The new car's VIN"),
    model: str = typer.Option(..., help="The new car's model"),
    at: str = typer.Option(..., "--at", help="Start, site local time, e.g. 2026-12-01T10:00"),
    dealer: str = typer.Option(None, help="Selling dealer's code"),
    year: int = typer.Option(None, help="Model year"),
    product: str = typer.Option("atl-delivery", help="Delivery product code"),
) -> None:
    """Schedule a delivery at the headquarters: the customer's car, a bay, a specialist and
    circuit time for its first miles."""
    with session_scope() as session:
        plan = catalog.product_plan(session, code=product)
        dealer_id = dealers.get_dealer(session, code=dealer, scope=CLI).id if dealer else None
        result = service.schedule_delivery(
            session,
            vin=vin,
            model=model,
            year=year,
            person_id=person_id,
            dealer_id=dealer_id,
            starts_at=parse_instant(at, plan.time_zone),
            product_code=product,
            actor="cli",
        )
    booking = result.booking.booking
    console.print(
        f"[bold]{booking.ref}[/] delivery of {model} {vin.upper()} at "
        f"{local(booking.starts_at, plan.time_zone)} ({plan.time_zone})"
    )
    for r in result.booking.resources:
        console.print(
            f"  {r.unit_label}: {local(r.starts_at, plan.time_zone)[-5:]}"
            f" to {local(r.ends_at, plan.time_zone)[-5:]}"
        )
