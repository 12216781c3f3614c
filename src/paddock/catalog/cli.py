from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from paddock.catalog import service
from paddock.catalog.policy import policy_of, set_policy
from paddock.cli_support import console, fail, local, parse_day, session_scope
from paddock.db import utcnow
from paddock.money import from_minor

products_app = typer.Typer(help="Products: what guests can book.", no_args_is_help=True)


@products_app.command("list")
def list_products(
    site: str = typer.Option(None, help="Only this site's products"),
    all_products: bool = typer.Option(False, "--all", help="Include non-public products"),
) -> None:
    """List the bookable products with duration and price."""
    with session_scope() as session:
        table = Table("code", "site", "name", "minutes", "price")
        for p in service.list_products(session, site_code=site, include_private=all_products):
            table.add_row(
                p.code,
                p.site.code,
                p.name,
                str(p.duration_minutes),
                f"{from_minor(p.price_cents, p.currency):,} {p.currency}",
            )
        console.print(table)


@products_app.command("policy")
def cancellation_policy(
    product: str = typer.Argument(..., help="Product code, e.g. atl-911-carrera-s"),
    free_hours: int = typer.Option(..., "--free-hours", help="Free until N hours before"),
    late_fee: str = typer.Option(
        None, "--late-fee", help="Fee after that, e.g. 75.00 (default: the whole price)"
    ),
) -> None:
    """Set a product's cancellation policy (guests cancel online, free, until the deadline)."""
    try:
        fee = Decimal(late_fee) if late_fee is not None else None
    except InvalidOperation:
        raise fail(f"'{late_fee}' is not an amount like 75.00") from None
    with session_scope() as session:
        row = set_policy(
            session, product_code=product, free_hours=free_hours, late_fee=fee, actor="cli"
        )
        console.print(f"{row.code}: {policy_of(row).summary()}")


def availability(
    product: str = typer.Argument(..., help="Product code, e.g. atl-911-carrera-s"),
    date_from: str = typer.Option(None, "--from", help="First local day (YYYY-MM-DD)"),
    days: int = typer.Option(7, min=1, max=62, help="How many days"),
    show_full: bool = typer.Option(False, "--full", help="Also list full slots with the reason"),
) -> None:
    """Free start times of a product per local day, with the remaining count (from today at
    the product's site, unless --from)."""
    with session_scope() as session:
        if date_from:
            start = parse_day(date_from)
        else:
            plan = service.product_plan(session, code=product)
            start = utcnow().astimezone(ZoneInfo(plan.time_zone)).date()
        result = service.availability(
            session,
            product_code=product,
            date_from=start,
            date_to=start + timedelta(days=days - 1),
            now=utcnow(),
        )
        zone = result.site.time_zone
        table = Table(
            "local start",
            "remaining",
            "short of",
            title=f"{result.product.name} at {result.site.name} ({zone})",
        )
        for slot in result.slots:
            if slot.remaining or show_full:
                reason = slot.shortfall.describe() if slot.shortfall else ""
                table.add_row(local(slot.starts_at, zone), str(slot.remaining), reason)
        console.print(table)
        free = sum(1 for s in result.slots if s.remaining)
        console.print(f"{free} of {len(result.slots)} start times have room.")
