"""`paddock rollup …`: fold the KPI deltas now, or rebuild the rollup from the base tables."""

from __future__ import annotations

import typer

from paddock.cli_support import console, session_scope
from paddock.rollup import service

rollup_app = typer.Typer(help="The KPI rollup the database keeps.", no_args_is_help=True)


@rollup_app.command("compact")
def compact() -> None:
    """Fold the triggers' deltas into the per-day rows (the server does this every few
    seconds)."""
    with session_scope() as session:
        done = service.compact(session)
    console.print(f"{done.booking_cells} booking cell(s), {done.unit_days} unit-day(s) updated.")


@rollup_app.command("rebuild")
def rebuild() -> None:
    """Recompute the rollup from bookings and allocations (after a bulk load or a restore)."""
    with session_scope() as session:
        service.rebuild(session)
    console.print("KPI rollup rebuilt.")
