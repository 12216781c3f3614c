"""`paddock motorsport …`: can we support another car? Evaluate, decide, calendars, imports,
requests and the service level, as readable tables."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from paddock.cli_support import console, fail, session_scope, titled_table
from paddock.motorsport import service
from paddock.motorsport.engine.explain import format_date_range
from paddock.motorsport.engine.standard import kind_label
from paddock.motorsport.schemas import FIRST_SEASON, LAST_SEASON, DecisionRead, EvaluationRead

motorsport_app = typer.Typer(
    help="Customer racing: can we support another car?", no_args_is_help=True
)
requests_app = typer.Typer(help="Support requests from customer teams.", no_args_is_help=True)
motorsport_app.add_typer(requests_app, name="requests")

YES, NO = "[green]✔[/]", "[red]✘[/]"
Season = Annotated[
    int, typer.Option(min=FIRST_SEASON, max=LAST_SEASON, help="Season year, e.g. 2024")
]


def cli_actor() -> str:
    """How the audit trail names whoever runs a command: cli:<os user>."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in this environment
        return "cli"


@motorsport_app.command("evaluate")
def evaluate(
    season: Season,
    team: str = typer.Option(..., help="Team code or name, e.g. Jota"),
    series: str = typer.Option(..., help="Championship, e.g. WEC or IMSA"),
    kind: str = typer.Option(..., help="new-team, second-car (additional-car) or spare-car"),
    request: str = typer.Option(None, help="Evaluate this stored request code instead"),
    show_all: bool = typer.Option(False, "--all", help="Also rows the car shares (adds 0)"),
) -> None:
    """Accept or decline one request: event by event, resource by resource, the first binding
    constraint and what it would take."""
    with session_scope() as session:
        if request:
            result = service.evaluate_request(session, code=request)
        else:
            result = service.evaluate_what_if(
                session, team=team, championship=series, year=season, kind=kind
            )
    source = (
        f"open request {result.stored_request}"
        if result.stored_request
        else "what-if (no stored request)"
    )
    show_evaluation(result.read, source=source, show_all=show_all)


def show_evaluation(read: EvaluationRead, *, source: str = "", show_all: bool = False) -> None:
    request = read.request
    verdict = "[bold green]ACCEPT[/]" if read.accepted else "[bold red]DECLINE[/]"
    console.print(
        f"{verdict}  {request.team_name}: {kind_label(request.kind)}, "
        f"{request.championship} {request.season} (base {request.base_region})"
        + (f"  [dim]{source}, standard v{read.standard_version}[/]" if source else "")
    )
    for line in read.reasons:
        if line.startswith(("Shares", "A spare")) or "counted as" in line:
            console.print(f"  {line}")
    rows = [r for r in read.rows if show_all or r.requested or r.shortfall]
    if rows:
        numbers = ("committed", "+ this car", "capacity", "short")
        table = titled_table(
            "Event by event, resource by resource",
            *("event / period", "dates", "resource", *numbers),
            figures=numbers,
        )
        for row in rows:
            table.add_row(
                row.label,
                row.period if row.label != row.period else "",
                row.pool_name,
                str(row.committed),
                str(row.requested),
                str(row.capacity),
                f"[bold red]{row.shortfall}[/]" if row.shortfall else "[green]0[/]",
            )
        console.print(table)
    grid = read.grid
    console.print(
        f"Grid: {grid.committed_cars} customer car(s) in {grid.championship} {grid.season} "
        f"+ {grid.added_cars} = {grid.committed_cars + grid.added_cars}, cap {grid.max_cars}"
        + (" [bold red](over)[/]" if grid.violated else " (within)")
    )
    if read.first_binding:
        console.print(f"[bold]First binding constraint:[/] {read.first_binding.description}")
    if read.accepted:
        return
    take = titled_table("What it would take", *("add", "resource", "dates", "for"))
    if read.grid_cap_needed:
        take.add_row(
            f"cap → {read.grid_cap_needed}",
            f"{grid.championship} {grid.season} grid policy",
            "season",
            "customer cars",
        )
    for addition in read.what_it_would_take:
        take.add_row(
            f"+{addition.units}",
            addition.pool_name + ("" if addition.pool_exists else " (no such pool yet)"),
            format_date_range(addition.start_date, addition.end_date)
            if addition.label != f"season {addition.start_date.year}"
            else addition.label,
            addition.label,
        )
    console.print(take)


@motorsport_app.command("decide")
def decide(
    season: Season,
    request: list[str] = typer.Option(None, help="Only these request codes (repeatable)"),
    time_limit: float = typer.Option(10.0, min=0.1, max=120, help="Solver time limit (s)"),
    record: bool = typer.Option(False, help="Record the optimal choice as the decision"),
    by: str = typer.Option(None, help="Who decides (with --record)"),
    why: str = typer.Option("", help="Why (with --record)"),
) -> None:
    """Decide the season's open requests together: the most value under capacity and the grid
    cap (CP-SAT, with bound and gap), compared with accepting in order of arrival."""
    if record and not by:
        raise fail("--record needs --by (who decides)")
    with session_scope() as session:
        decided = service.decide_season(
            session, year=season, request_codes=request or None, time_limit_s=time_limit
        )
        show_decision(decided.read)
        if record:
            if request:
                declined = [c for c in request if c not in decided.read.accepted]
                recorded = service.record_decision(
                    session,
                    year=season,
                    accept=decided.read.accepted,
                    decline=declined,
                    decided_by=by,
                    actor=cli_actor(),
                    rationale=why,
                )
            else:
                recorded = service.record_decision(
                    session,
                    year=season,
                    use_optimum=True,
                    decided_by=by,
                    actor=cli_actor(),
                    rationale=why,
                    time_limit_s=time_limit,
                )
            entries = [o for o in recorded.requests if o.outcome == "accepted"]
            console.print(
                f"[bold]Recorded[/] decision {recorded.id} by {recorded.decided_by}: "
                f"{len(entries)} entr(y/ies) created, "
                f"{sum(o.allocations for o in entries)} allocation(s) on the capacity core."
            )


def show_decision(read: DecisionRead) -> None:
    table = titled_table(
        f"Support requests {read.year}, decided together",
        *("request", "team", "kind", "series", "received", "value", "optimum", "greedy"),
        figures=("value",),
    )
    for request in read.requests:
        table.add_row(
            request.code,
            request.team_name,
            kind_label(request.kind),
            request.championship,
            str(request.received_on or ""),
            str(read.values[request.code]),
            YES if request.code in read.accepted else NO,
            YES if request.code in read.greedy.accepted else NO,
        )
    console.print(table)
    console.print(
        f"Chosen set: {', '.join(read.accepted) or 'none'}\n"
        f"Objective {read.objective}, bound {read.best_bound:g}, gap {read.gap:.1%} — "
        f"{read.status.lower()}{' (proven)' if read.proven_optimal else ''} in "
        f"{read.wall_time_s:.3f} s, {read.capacity_constraints} capacity constraint(s)\n"
        f"Greedy in order of arrival: {', '.join(read.greedy.accepted) or 'none'} "
        f"(value {read.greedy.value}). {read.comparison.description}"
    )
    for evaluation in read.declined_explanations:
        console.print()
        show_evaluation(evaluation, source="declined in the chosen set")


@motorsport_app.command("calendar")
def calendar(
    season: Season,
    series: str = typer.Option(None, help="Only this championship"),
) -> None:
    """The season's events: race weeks, regions, tests and same-weekend clashes."""
    with session_scope() as session:
        events = service.season_calendar(session, year=season, championship=series)
    if not events:
        raise fail(f"no events in {season}; import a calendar with import-season")
    table = titled_table(
        f"Calendar {season}",
        *("series", "event", "race", "race week", "venue", "region", "clashes with"),
    )
    for event in events:
        name = event.name + (" [dim](test)[/]" if event.is_test else "")
        table.add_row(
            event.championship,
            name,
            format_date_range(event.race_start_date, event.race_end_date),
            format_date_range(event.race_week_start_date, event.race_week_end_date),
            f"{event.venue}, {event.country}",
            event.region,
            ", ".join(event.clashes_with),
        )
    console.print(table)


@motorsport_app.command("import-season")
def import_season(
    file: Path = typer.Argument(..., help="A .csv or .ics calendar file"),
    series: str = typer.Option(None, help="Championship (ICS files)"),
    season: int = typer.Option(
        None, min=FIRST_SEASON, max=LAST_SEASON, help="Season year (ICS files; default: first race)"
    ),
    replace: bool = typer.Option(False, help="Replace a season's existing calendar"),
) -> None:
    """Import season calendars; nothing is written if any line is wrong."""
    if not file.is_file():
        raise fail(f"{file}: no such file")
    fmt = file.suffix.lower().lstrip(".")
    if fmt not in ("csv", "ics"):
        raise fail(f"{file}: use a .csv or .ics file")
    with session_scope() as session:
        result = service.import_season(
            session,
            data=file.read_bytes(),
            fmt=fmt,
            championship=series,
            year=season,
            replace=replace,
            actor=cli_actor(),
        )
    for season_read in result.seasons:
        count = len(season_read.events or [])
        console.print(f"{season_read.championship} {season_read.year}: {count} event(s) imported")
    if result.replaced:
        console.print(f"{result.replaced} earlier event(s) replaced")


@requests_app.command("list")
def list_requests(
    season: int = typer.Option(
        None, min=FIRST_SEASON, max=LAST_SEASON, help="Only this season year"
    ),
    status: str = typer.Option(None, help="open, accepted, declined or withdrawn"),
) -> None:
    """Requests with their status and, once decided, the first reason."""
    with session_scope() as session:
        rows = service.list_requests(session, year=season, status=status)
    if not rows:
        console.print("no requests")
        return
    table = titled_table(
        "Support requests",
        *("request", "team", "kind", "series", "car", "received", "status", "reason"),
    )
    for row in rows:
        colour = {"accepted": "green", "declined": "red", "open": "yellow"}.get(row.status, "dim")
        table.add_row(
            row.code,
            row.team_name,
            kind_label(row.kind),
            f"{row.championship} {row.season}",
            f"#{row.car_number}" if row.car_number else "",
            str(row.received_on),
            f"[{colour}]{row.status}[/]",
            row.reasons[0] if row.reasons else "",
        )
    console.print(table)


@requests_app.command("add")
def add_request(
    season: Season,
    team: str = typer.Option(..., help="Team code or name"),
    series: str = typer.Option(..., help="Championship"),
    kind: str = typer.Option(..., help="new-team, second-car or spare-car"),
    car: str = typer.Option(None, help="Proposed car number"),
    received: str = typer.Option(None, help="Date received (YYYY-MM-DD, default today)"),
    note: str = typer.Option("", help="Note"),
) -> None:
    """Record a team's request."""
    try:
        received_on = date.fromisoformat(received) if received else None
    except ValueError:
        raise fail(f"'{received}' is not a date like 2024-10-31") from None
    with session_scope() as session:
        row = service.create_request(
            session,
            team=team,
            championship=series,
            year=season,
            kind=kind,
            car_number=car,
            received_on=received_on,
            note=note,
            actor=cli_actor(),
        )
    console.print(f"request [bold]{row.code}[/] recorded ({row.team_name}, {row.status})")


@motorsport_app.command("service-level")
def service_level(
    season: Season,
    team: str = typer.Option(None, help="Only this team (code)"),
) -> None:
    """Support promised vs delivered per car and event."""
    with session_scope() as session:
        read = service.service_level(session, year=season, team=team)
    table = titled_table(
        f"Service level {season}", *("car", "event", "resource", "promised", "delivered", "on time")
    )
    for entry in read.entries:
        car = f"{entry.team_name} #{entry.car_number or 'spare'}"
        for event in entry.events:
            for line in event.lines:
                table.add_row(
                    car,
                    event.event_name,
                    kind_label(line.kind),
                    str(line.promised),
                    str(line.delivered),
                    YES if line.on_time else f"{NO} {line.note}",
                )
    if read.entries:
        console.print(table)
    console.print(read.summary)
