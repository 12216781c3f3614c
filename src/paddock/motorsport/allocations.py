"""Entered cars' support on the capacity core: allocations for entries loaded from history, and
how many an entry holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.capacity.models import Allocation
from paddock.db import utcnow
from paddock.motorsport import capacity_view
from paddock.motorsport.capacity_view import ENGAGEMENT
from paddock.motorsport.context import load_context
from paddock.motorsport.engine.demand import count_cars
from paddock.motorsport.engine.explain import format_day
from paddock.motorsport.engine.grid import NotEnoughUnits, added_needs, choose_allocations
from paddock.motorsport.errors import SupportCapacityExceeded


def allocate_entries(session: Session, *, year: int, now: datetime | None = None) -> int:
    """Give every entered car of the year that holds no allocations yet its support on the
    capacity core (entries loaded from history, e.g. by the demo). Runs in the caller's
    transaction; raises SupportCapacityExceeded when a unit is missing. Returns the number
    of allocations made."""
    now = now or utcnow()
    context = load_context(session, year=year, now=now)
    model = context.model()
    holding = set(
        session.scalars(
            select(Allocation.engagement_id).where(
                Allocation.engagement_kind == ENGAGEMENT,
                Allocation.engagement_id.in_(context.entry_ids),
                Allocation.active.is_(True),
            )
        )
    )
    pairs = list(zip(context.entry_ids, context.commitments, strict=True))
    cars = count_cars([fact for entry_id, fact in pairs if entry_id in holding])
    made = 0
    for entry_id, fact in pairs:
        if entry_id in holding:
            continue
        key, after, needs = added_needs(model, cars, fact)
        try:
            held = choose_allocations(context.grid, needs)
        except NotEnoughUnits as short:
            raise SupportCapacityExceeded(
                f"Entry #{fact.car_number or 'spare'} of {fact.team_code}: no "
                f"{short.need.pool_code} unit free on {format_day(short.day)} "
                f"({short.need.label})."
            ) from None
        capacity_view.insert_allocations(session, context.grid, entry_id, held)
        cars[key] = after
        made += len(held)
    return made


def entry_allocations(session: Session, *, entry_id: int) -> int:
    """How many allocations an entry holds on the capacity core (for checks and pages)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Allocation)
            .where(
                Allocation.engagement_kind == ENGAGEMENT,
                Allocation.engagement_id == entry_id,
                Allocation.active.is_(True),
            )
        )
        or 0
    )
