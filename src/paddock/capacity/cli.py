"""`paddock fleet …` and `paddock sites …`: the state of units and pools, blocks, closures;
the sites, their year one and their closures."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.table import Table

from paddock.capacity import operations, sites
from paddock.capacity.models import Block
from paddock.cli_support import console, fail, local, parse_day, parse_instant, session_scope

fleet_app = typer.Typer(
    help="Units: cars, coaches, rigs; maintenance blocks.", no_args_is_help=True
)
sites_app = typer.Typer(
    help="Sites: the list, a site's pools, year one, closures and reopening.",
    no_args_is_help=True,
)

STATE_STYLE = {
    "available": "green",
    "in_use": "cyan",
    "off_duty": "dim",
    "blocked": "yellow",
    "closed": "yellow",
    "retired": "red",
}


def parse_bound(text: str, time_zone: str, *, end: bool) -> datetime:
    """A local day (whole day: `--to` includes it) or a local date-time, in the site's zone."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        raise fail(
            f"'{text}' is not a date like 2026-12-01 or a time like 2026-12-01T10:00"
        ) from None
    if day is not None:
        start, next_day = operations.day_bounds(day, time_zone)
        return next_day if end else start
    return parse_instant(text, time_zone)


def describe_unit(state: operations.UnitState) -> str:
    unit = state.unit
    if unit.kind == "coach":
        return "qualified: " + ", ".join(state.qualifications)
    vin, miles = unit.attributes.get("vin"), unit.attributes.get("odometer_miles")
    parts = [f"VIN {vin}" if vin else "", f"{miles:,} mi" if isinstance(miles, int) else ""]
    return "  ".join(p for p in parts if p)


def block_line(block: Block, time_zone: str, unit_label: str | None) -> str:
    what = unit_label or "whole site"
    if block.kind == operations.RETIRED_KIND:
        since = local(block.starts_at, time_zone)
        return f"#{block.id} retired: {what}, since {since} ({block.reason})"
    return (
        f"#{block.id} {block.kind}: {what}, {local(block.starts_at, time_zone)} to "
        f"{local(block.ends_at, time_zone)} ({block.reason})"
    )


@fleet_app.command("list")
def fleet_list(
    site: str = typer.Option("ATL", help="Site code"),
    kind: str = typer.Option(None, help="Only this kind: vehicle_model, coach, simulator..."),
    pool: str = typer.Option(None, help="Only the units of this pool"),
    show_all: bool = typer.Option(False, "--all", help="Also dealer places, customers' cars"),
) -> None:
    """The site's units with their state now and their use today."""
    with session_scope() as session:
        states = operations.list_units(
            session, site_code=site, kind=kind, pool_code=pool, include_all=show_all
        )
        if not states:
            console.print("no units match")
            return
        site_row = states[0].site
        table = Table("id", "unit", "kind", "state", "today", "details", title=site_row.name)
        for s in states:
            details = describe_unit(s)
            if s.block is not None:
                details = f"{s.block.kind}: {s.block.reason}"
            style = STATE_STYLE.get(s.state, "")
            table.add_row(
                str(s.unit.id),
                s.unit.label,
                s.unit.kind,
                f"[{style}]{s.state}[/]" if style else s.state,
                f"{s.engagements_today} / {s.busy_minutes_today} min",
                details,
            )
        console.print(table)
        counts: dict[str, int] = {}
        for s in states:
            counts[s.state] = counts.get(s.state, 0) + 1
        console.print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())))


@fleet_app.command("show")
def fleet_show(
    unit: str = typer.Argument(..., help="Unit id, label or VIN"),
    site: str = typer.Option(None, help="Site code, when a label is used at several sites"),
) -> None:
    """One unit: attributes, pools, blocks from now on and today's schedule."""
    with session_scope() as session:
        found = operations.find_unit(session, ref=unit, site_code=site)
        detail = operations.unit_detail(session, unit_id=found.id)
        state, zone = detail.state, detail.state.site.time_zone
        console.print(
            f"[bold]{found.label}[/] (#{found.id}, {found.kind}) at {state.site.code}: "
            f"[bold]{state.state}[/]"
        )
        if extra := describe_unit(state):
            console.print(f"  {extra}")
        console.print(f"  pools: {', '.join(state.pool_codes) or 'none'}")
        console.print(f"  used {found.usage_minutes:,} minutes in all")
        for block in detail.blocks:
            console.print("  " + block_line(block, zone, found.label if block.unit_id else None))
        for e in detail.schedule:
            console.print(
                f"  today {local(e.starts_at, zone)[-5:]}-{local(e.ends_at, zone)[-5:]} "
                f"{e.reference}"
            )


@fleet_app.command("block")
def fleet_block(
    unit: str = typer.Argument(..., help="Unit id, label or VIN"),
    date_from: str = typer.Option(..., "--from", help="Local day or date-time it starts"),
    date_to: str = typer.Option(..., "--to", help="Local day (included) or date-time it ends"),
    reason: str = typer.Option(..., help="Why, e.g. 'Brake service'"),
    kind: str = typer.Option("maintenance", help="maintenance, repair, leave, training, other"),
    site: str = typer.Option(None, help="Site code, when a label is used at several sites"),
) -> None:
    """Take a unit out of service; refused, naming them, while bookings hold that time."""
    with session_scope() as session:
        found = operations.find_unit(session, ref=unit, site_code=site)
        zone = operations.get_site_of(session, found).time_zone
        block = operations.block_unit(
            session,
            unit_id=found.id,
            starts_at=parse_bound(date_from, zone, end=False),
            ends_at=parse_bound(date_to, zone, end=True),
            reason=reason,
            kind=kind,
            actor="cli",
        )
        console.print("blocked " + block_line(block, zone, found.label))


@fleet_app.command("unblock")
def fleet_unblock(block_id: int = typer.Argument(..., help="The block's number")) -> None:
    """Remove a unit's block: it can be booked again."""
    with session_scope() as session:
        block = operations.get_block(session, block_id=block_id)
        if block.unit_id is None:
            raise fail(f"Block {block_id} closes a whole site; use 'paddock sites reopen'.")
        operations.remove_block(session, block_id=block_id, actor="cli")
        console.print(f"block {block_id} removed")


@fleet_app.command("blocks")
def fleet_blocks(
    site: str = typer.Option("ATL", help="Site code"),
    unit: str = typer.Option(None, help="Only this unit (id, label or VIN) and site closures"),
    include_past: bool = typer.Option(False, "--past", help="Also blocks that have ended"),
) -> None:
    """Blocks and closures that have not ended yet."""
    with session_scope() as session:
        site_row = operations.get_site(session, code=site)
        unit_id = operations.find_unit(session, ref=unit, site_code=site).id if unit else None
        blocks = operations.list_blocks(
            session, site_code=site, unit_id=unit_id, include_past=include_past
        )
        names = operations.labels(session, [b.unit_id for b in blocks if b.unit_id])
        for block in blocks:
            label = names.get(block.unit_id) if block.unit_id else None
            console.print(block_line(block, site_row.time_zone, label))
        console.print(f"{len(blocks)} block(s)")


@fleet_app.command("retire")
def fleet_retire(
    unit: str = typer.Argument(..., help="Unit id, label or VIN"),
    reason: str = typer.Option(..., help="Why, e.g. 'Sold at end of lease'"),
    site: str = typer.Option(None, help="Site code, when a label is used at several sites"),
) -> None:
    """Take a unit out of the fleet for good (refused while bookings from now on hold it)."""
    with session_scope() as session:
        found = operations.find_unit(session, ref=unit, site_code=site)
        operations.retire_unit(session, unit_id=found.id, reason=reason, actor="cli")
        console.print(f"{found.label} retired")


@fleet_app.command("reactivate")
def fleet_reactivate(
    unit: str = typer.Argument(..., help="Unit id, label or VIN"),
    site: str = typer.Option(None, help="Site code, when a label is used at several sites"),
) -> None:
    """Put a retired unit back into service."""
    with session_scope() as session:
        found = operations.find_unit(session, ref=unit, site_code=site)
        operations.reactivate_unit(session, unit_id=found.id, actor="cli")
        console.print(f"{found.label} is back in service")


@sites_app.command("list")
def list_sites() -> None:
    """Every site (experience centres and the motorsport support site) with its time zone,
    opening day and year-one targets."""
    with session_scope() as session:
        table = Table("code", "kind", "name", "city", "time zone", "opens", "year-one target")
        for site in sites.all_sites(session):
            target = f"{site.drivers_target:,} drivers" if site.drivers_target is not None else ""
            if site.dealer_share_target_bp is not None:
                target += f", {site.dealer_share_target_bp / 100:g} % via dealers"
            table.add_row(
                site.code,
                site.kind,
                site.name,
                site.city,
                site.time_zone,
                f"{site.opens_on:%Y-%m-%d}" if site.opens_on else "",
                target.lstrip(", "),
            )
        console.print(table)


@sites_app.command("year-one")
def year_one(
    site: str = typer.Argument(..., help="Site code, e.g. ATL"),
    opens: str = typer.Option(None, help="Opening day YYYY-MM-DD: year one starts on it"),
    drivers: int = typer.Option(None, min=1, help="Drivers (people) to reach in year one"),
    dealer_share: str = typer.Option(None, help="Percent of test drives via dealers, e.g. 15"),
) -> None:
    """Set a site's opening day and its own year-one targets (an option left out is unset:
    calendar years, the 20,000 drivers and 15 % of the brief)."""
    settings = sites.YearOne(
        opens_on=parse_day(opens) if opens else None,
        drivers_target=drivers,
        dealer_share_percent=sites.parse_percent(dealer_share or ""),
    )
    with session_scope() as session:
        saved = sites.set_year_one(session, site_code=site, settings=settings, actor="cli")
        opened = f"opens {saved.opens_on:%Y-%m-%d}" if saved.opens_on else "no opening day"
        console.print(f"{saved.code}: {opened}, year-one targets saved")


@sites_app.command("pools")
def site_pools(
    site: str = typer.Argument("ATL", help="Site code"),
    show_all: bool = typer.Option(False, "--all", help="Also dealer places, customers' cars"),
) -> None:
    """Every resource pool of the site: units, and how many are available, in use or blocked."""
    with session_scope() as session:
        pools = operations.pools_overview(session, site_code=site, include_all=show_all)
        table = Table(
            "pool", "kind", "guests read", "units", "available", "in use", "blocked", "off duty"
        )
        for p in pools:
            table.add_row(
                p.pool.code,
                p.pool.kind,
                operations.public_wording(p.pool),
                f"{p.active}/{len(p.units)}",
                str(p.count("available")),
                str(p.count("in_use")),
                str(p.count("blocked") + p.count("closed")),
                str(p.count("off_duty")),
            )
        console.print(table)


@sites_app.command("pool-wording")
def site_pool_wording(
    site: str = typer.Argument(..., help="Site code, e.g. ATL"),
    pool: str = typer.Argument(..., help="Pool code, e.g. kick-plate"),
    wording: str = typer.Argument(..., help="What guests read, e.g. 'track time' ('' resets)"),
) -> None:
    """Change what guests read about a pool ("no <wording> free"); staff keep its name."""
    with session_scope() as session:
        row = operations.set_public_name(
            session, site_code=site, pool_code=pool, wording=wording, actor="cli"
        )
        console.print(f"{row.code}: guests read '{operations.public_wording(row)}'")


@sites_app.command("close")
def site_close(
    site: str = typer.Argument(..., help="Site code, e.g. ATL"),
    date_from: str = typer.Option(..., "--from", help="Local day or date-time it starts"),
    date_to: str = typer.Option(..., "--to", help="Local day (included) or date-time it ends"),
    reason: str = typer.Option(..., help="Why, e.g. 'Christmas'"),
    kind: str = typer.Option("closure", help="closure, event, weather, other"),
) -> None:
    """Close a whole site; refused, naming them, while bookings hold that time."""
    with session_scope() as session:
        site_row = operations.get_site(session, code=site)
        zone = site_row.time_zone
        block = operations.close_site(
            session,
            site_code=site_row.code,
            starts_at=parse_bound(date_from, zone, end=False),
            ends_at=parse_bound(date_to, zone, end=True),
            reason=reason,
            kind=kind,
            actor="cli",
        )
        console.print(f"{site_row.code} closed: " + block_line(block, zone, None))


@sites_app.command("reopen")
def site_reopen(block_id: int = typer.Argument(..., help="The closure's number")) -> None:
    """Remove a site's closure: its units can be booked again."""
    with session_scope() as session:
        block = operations.get_block(session, block_id=block_id)
        if block.unit_id is not None:
            raise fail(f"Block {block_id} is a unit's block; use 'paddock fleet unblock'.")
        operations.remove_block(session, block_id=block_id, actor="cli")
        console.print(f"closure {block_id} removed")
