"""How motorsport entries appear to the capacity core's operations: a block refused because a
unit supports an entry names the car ("Hertz Team Jota #12, WEC 2024")."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.capacity import operations
from paddock.motorsport import models as orm
from paddock.motorsport.capacity_view import ENGAGEMENT


def describe(session: Session, entry_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        select(
            orm.TeamEntry.id,
            orm.TeamEntry.car_number,
            orm.CustomerTeam.name,
            orm.Championship.code,
            orm.Season.year,
        )
        .join(orm.CustomerTeam, orm.CustomerTeam.id == orm.TeamEntry.team_id)
        .join(orm.Season, orm.Season.id == orm.TeamEntry.season_id)
        .join(orm.Championship, orm.Championship.id == orm.Season.championship_id)
        .where(orm.TeamEntry.id.in_(entry_ids))
    )
    return {
        ident: f"{team} {'#' + number if number else 'spare car'}, {series} {year}"
        for ident, number, team, series, year in rows
    }


def register() -> None:
    """Called once where the application is put together (the app and the CLI)."""
    operations.register_describer(ENGAGEMENT, describe)
