"""`paddock kpi`: the year-one targets and the KPIs, as Rich tables or CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import typer
from rich.table import Table

from paddock.analytics import service
from paddock.cli_support import console, session_scope
from paddock.settings import get_settings


def kpi(
    site: str = typer.Option(None, help="Site code (default: all sites)"),
    year: int = typer.Option(
        None,
        help="The year of operation beginning in this calendar year (from each site's "
        "opening day; calendar years where none is set). Default: the current one",
    ),
    as_of: str = typer.Option(None, help="Compute as at the end of this day (YYYY-MM-DD)"),
    csv: bool = typer.Option(False, "--csv", help="CSV instead of tables"),
    output: Path = typer.Option(None, "--output", "-o", help="Write the CSV to this file"),
    dealers: int = typer.Option(10, help="Rows of the dealer leaderboard"),
) -> None:
    """Drivers on the circuit vs each site's year-one target (all sites: their sum; 20,000
    where none is set), with the forecast to year end, the share of test drives from dealers vs
    the site's target (15 % by default), conversion, no-shows, utilisation per pool over the
    last 28 days and the dealer leaderboard. Year one runs from the site's opening day.

    Drivers = people who drove a circuit product (one using a circuit module), checked in or
    completed; visits = those bookings; forecast = drivers + the visits to come (per remaining
    day max(run rate of the last 28 days, booked pipeline x show rate of the last 90 days)) at
    the year's people per visit; a target with no data yet has no verdict; dealer share = test
    drives driven that were booked with a dealer's invitation; conversion = prospects who
    drove and bought within the window."""
    now = None
    if as_of:
        now = datetime.combine(date.fromisoformat(as_of), time(23, 59, 59), tzinfo=UTC)
    with session_scope() as session:
        result = service.report(
            session,
            site_code=site,
            year=year,
            now=now,
            window_days=get_settings().conversion_window_days,
            leaderboard_limit=dealers,
        )
    if csv or output:
        text = service.to_csv(result)
        if output:
            output.write_text(text, encoding="utf-8")
            console.print(f"written to {output}")
        else:
            print(text, end="")
        return
    _tables(result)


def _tables(r: service.KpiReport) -> None:
    d, s, c, n = r.drivers, r.dealer_share, r.conversion, r.no_show
    scope = r.site or "all sites"
    year = str(d.year)
    if r.year_of_operation:
        year = f"year {r.year_of_operation} from {r.period_start:%Y-%m-%d}"
    head = Table("KPI", "value", "target", "", title=f"Paddock KPIs {year}, {scope}")
    head.add_row(
        "Drivers on the circuit (YTD)",
        f"{d.drivers:,}",
        f"{d.target:,}",
        f"{d.share_of_target:.1%} of target; {d.visits:,} visits",
    )
    head.add_row(
        "Forecast to year end",
        f"{d.forecast:,}",
        f"{d.target:,}",
        _flag(d.on_track)
        + f" run rate {d.run_rate_per_day:g}/day, {d.pipeline_booked:,} booked ahead, "
        f"show rate {d.show_rate:.0%}",
    )
    head.add_row(
        "Test drives from dealers",
        f"{s.share:.1%}",
        f"{s.target:.0%}",
        _flag(s.on_track) + f" {s.from_dealers:,} of {s.test_drives:,}",
    )
    head.add_row(
        "Prospects converted",
        f"{c.rate:.1%}",
        "",
        f"{c.converted:,} of {c.prospects_drove:,} within {c.window_days} days",
    )
    head.add_row("No-show rate", f"{n.rate:.1%}", "", f"{n.no_shows:,} of {n.expected:,}")
    console.print(head)
    use = Table(
        "site",
        "pool",
        "units",
        "allocated h",
        "available h",
        "utilisation",
        title=f"Utilisation {r.utilisation_from:%Y-%m-%d} to {r.utilisation_to:%Y-%m-%d}",
    )
    for u in r.utilisation:
        use.add_row(
            u.site,
            u.name,
            str(u.units),
            f"{u.allocated_hours:,.0f}",
            f"{u.available_hours:,.0f}",
            f"{u.rate:.0%}",
        )
    console.print(use)
    board = Table(
        "#", "dealer", "region", "bookings", "drivers", "no-shows", "conversions", title="Dealers"
    )
    for row in r.leaderboard:
        board.add_row(
            str(row.rank),
            f"{row.dealer} {row.name}",
            row.region,
            str(row.bookings),
            str(row.drivers),
            str(row.no_shows),
            str(row.conversions),
        )
    console.print(board)


def _flag(ok: bool | None) -> str:
    if ok is None:
        return "[dim]no data yet[/]"
    return "[green]on track[/]" if ok else "[red]behind[/]"
