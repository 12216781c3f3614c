"""`paddock dealers …`, `paddock campaigns …` and `paddock invitations …` (centre staff's view:
every dealer)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer
from rich.table import Table

from paddock.accounts.service import Scope
from paddock.bookings import service as bookings
from paddock.bookings.cli import show
from paddock.catalog import service as catalog
from paddock.cli_support import console, fail, parse_instant, session_scope
from paddock.db import utcnow
from paddock.dealers import allotments, imports, service
from paddock.errors import DomainError
from paddock.settings import get_settings

dealers_app = typer.Typer(help="The dealer network and its allotments.", no_args_is_help=True)
campaigns_app = typer.Typer(help="Dealers' invitation campaigns and codes.", no_args_is_help=True)
invitations_app = typer.Typer(help="Invitees and invitation codes.", no_args_is_help=True)

CLI = Scope.everything("cli")


def _month(text: str | None) -> date:
    return allotments.parse_month(text) if text else date.today().replace(day=1)


@dealers_app.command("list")
def list_dealers(
    region: str = typer.Option(None, help="Northeast, Southeast, Central or West"),
    search: str = typer.Option(None, help="Part of the name, city or code"),
    limit: int = typer.Option(300, help="At most this many"),
) -> None:
    """Dealers with their region and default monthly places."""
    with session_scope() as session:
        rows = service.list_dealers(
            session, scope=CLI, region=region, search=search, limit=min(limit, 500)
        )
        table = Table("code", "name", "city", "state", "region", "places/month")
        for d in rows:
            table.add_row(d.code, d.name, d.city, d.state, d.region, str(d.monthly_allotment))
        console.print(table)
        console.print(f"{len(rows)} dealer(s)")


@dealers_app.command("show")
def show_dealer(code: str = typer.Argument(..., help="Dealer code, e.g. D-ATL-001")) -> None:
    """A dealer's campaigns, invitees, attributed bookings and places this and next month."""
    with session_scope() as session:
        summary = service.dealer_summary(session, scope=CLI, dealer_code=code)
        d = summary.dealer
        console.print(f"[bold]{d.code}[/] {d.name}, {d.city} {d.state} ({d.region})")
        console.print(
            f"  {summary.campaigns} campaign(s), {summary.invitees} invitee(s), "
            f"{summary.bookings} attributed booking(s), {summary.drove} drove"
        )
        for status, count in sorted(summary.bookings_by_status.items()):
            console.print(f"    {status}: {count}")
        for place in summary.places:
            console.print(
                f"  places {place.month:%Y-%m}: {place.used} of {place.places} used "
                f"({place.remaining} left)"
            )


@dealers_app.command("allot")
def allot(
    code: str = typer.Argument(..., help="Dealer code"),
    places: int = typer.Option(..., min=0, max=1000, help="Test-drive places that month"),
    month: str = typer.Option(None, help="YYYY-MM (default this month)"),
    site: str = typer.Option("ATL", help="Site code"),
) -> None:
    """Set a dealer's test-drive places at a site for one month."""
    with session_scope() as session:
        result = service.set_allotment(
            session,
            dealer_code=code,
            site_code=site,
            month=_month(month),
            places=places,
            actor="cli",
        )
        console.print(
            f"{code.upper()} {result.month:%Y-%m} at {site}: {result.places} place(s), "
            f"{result.used} booked"
        )


@campaigns_app.command("create")
def create_campaign(
    dealer: str = typer.Option(..., help="Dealer code"),
    name: str = typer.Option(..., help="Campaign name"),
    products: str = typer.Option(..., help="Product codes, comma-separated"),
    drive_from: str = typer.Option(None, "--from", help="First drive day YYYY-MM-DD (today)"),
    drive_to: str = typer.Option(None, "--to", help="Last drive day YYYY-MM-DD (+60 days)"),
    code: str = typer.Option(None, help="Also create this shared code"),
    max_uses: int = typer.Option(1, help="Uses of that code (0 = no limit but places)"),
) -> None:
    """Create a campaign (and optionally a shared code for it)."""
    first = date.fromisoformat(drive_from) if drive_from else date.today()
    last = date.fromisoformat(drive_to) if drive_to else first + timedelta(days=60)
    with session_scope() as session:
        campaign = service.create_campaign(
            session,
            scope=CLI,
            dealer_code=dealer,
            name=name,
            products=[p.strip() for p in products.split(",") if p.strip()],
            drive_from=first,
            drive_to=last,
        )
        console.print(f"campaign {campaign.id} '{campaign.name}' for {dealer.upper()}")
        if code:
            row = service.create_code(
                session,
                scope=CLI,
                campaign_id=campaign.id,
                code=code,
                max_uses=max_uses or None,
            )
            console.print(f"code {row.code} ({row.max_uses or 'unlimited'} use(s))")


@campaigns_app.command("list")
def list_campaigns(dealer: str = typer.Option(None, help="Only this dealer's")) -> None:
    """Campaigns with their codes, invitees and attributed bookings."""
    with session_scope() as session:
        rows = service.list_campaigns(session, scope=CLI, dealer_code=dealer, limit=500)
        stats = service.campaign_stats(session, [c.id for c in rows])
        table = Table("id", "name", "drives", "products", "codes", "invitees", "bookings")
        for c in rows:
            s = stats[c.id]
            table.add_row(
                str(c.id),
                c.name,
                f"{c.drive_from} to {c.drive_to}",
                ", ".join(p.code for p in c.products),
                str(s.codes),
                str(s.invitees),
                str(s.bookings),
            )
        console.print(table)


@campaigns_app.command("code")
def create_code(
    campaign: int = typer.Argument(..., help="Campaign id"),
    code: str = typer.Option(None, help="The code (generated if absent)"),
    max_uses: int = typer.Option(1, help="Uses (0 = no limit but the dealer's places)"),
    expires: str = typer.Option(None, help="Expiry, e.g. 2026-12-31T23:59 (UTC)"),
) -> None:
    """Add a shared code to a campaign."""
    with session_scope() as session:
        row = service.create_code(
            session,
            scope=CLI,
            campaign_id=campaign,
            code=code,
            max_uses=max_uses or None,
            expires_at=parse_instant(expires, "UTC") if expires else None,
        )
        console.print(f"{row.code}: {row.max_uses or 'unlimited'} use(s)")


@invitations_app.command("import")
def import_invitees(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file"),
    campaign: int = typer.Option(..., help="Campaign id"),
    commit: bool = typer.Option(False, "--commit", help="Write (default: a dry run)"),
    accept_partial: bool = typer.Option(
        False, "--accept-partial", help="With --commit: write the good rows even if some fail"
    ),
) -> None:
    """Import invitees (name,email,phone,consent,product,note). A dry run unless --commit; with
    --commit, any rejected row means nothing is written unless --accept-partial."""
    text = imports.decode(file.read_bytes())
    with session_scope() as session:
        try:
            report = imports.import_invitees(
                session,
                scope=CLI,
                campaign_id=campaign,
                text=text,
                commit=commit,
                accept_partial=accept_partial,
            )
        except imports.ImportRefused as exc:
            _print_rejections(exc.extra["report"]["rows"])
            raise fail(exc.detail) from None
        _print_rejections([r.as_dict() for r in report.rows])
        for warning in report.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        if report.committed:
            console.print(f"imported {report.written} invitee(s), each with a personal code")
        else:
            console.print(
                f"dry run: {report.accepted} row(s) would be imported, {report.rejected} "
                "rejected; nothing written (add --commit)"
            )


@invitations_app.command("show")
def show_invitation(code: str = typer.Argument(..., help="The code")) -> None:
    """What a code allows, and whether it can still be used."""
    with session_scope() as session:
        inv = service.find_invitation(session, code=code)
        console.print(
            f"[bold]{inv.code}[/] ({inv.kind}) from {inv.dealer_name} [{inv.dealer_code}], "
            f"campaign '{inv.campaign_name}'"
        )
        console.print(
            f"  drives {inv.drive_from} to {inv.drive_to}; uses {inv.uses}"
            f"{'' if inv.max_uses is None else f' of {inv.max_uses}'}"
        )
        for p in inv.products:
            console.print(f"  {p.code} at {p.site}: {p.name}")
        if inv.invitee_name:
            console.print(f"  for {inv.invitee_name}; link {inv.link}")
        try:
            service.check_usable(inv, utcnow())
            console.print("  [green]usable[/]")
        except DomainError as exc:
            console.print(f"  [red]not usable:[/] {exc.detail}")


@invitations_app.command("book")
def book_with_code(
    code: str = typer.Argument(..., help="Invitation code"),
    product: str = typer.Option(..., help="Product code"),
    at: str = typer.Option(..., "--at", help="Start (site local time), e.g. 2026-12-01T10:00"),
    name: str = typer.Option(..., help="Guest's name"),
    email: str = typer.Option(..., help="Guest's e-mail"),
) -> None:
    """Book for a guest with an invitation code (attributed to the dealer)."""
    with session_scope() as session:
        plan = catalog.product_plan(session, code=product)
        result = service.book_with_code(
            session,
            code=code,
            product_code=product,
            starts_at=parse_instant(at, plan.time_zone),
            guest=bookings.Guest(name, email),
            hold_minutes=get_settings().hold_minutes,
            channel="cli",
            actor="cli",
        )
        show(result, plan.time_zone)


def _print_rejections(rows: list[dict[str, object]]) -> None:
    rejected = [r for r in rows if not r["accepted"]]
    if not rejected:
        return
    table = Table("line", "name", "e-mail", "why rejected", title="Rejected rows")
    for r in rejected:
        reasons = r["reasons"]
        table.add_row(
            str(r["line"]),
            str(r["name"]),
            str(r["email"]),
            "; ".join(str(x) for x in reasons) if isinstance(reasons, list) else "",
        )
    console.print(table)
