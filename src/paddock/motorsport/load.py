"""The support pools and the planner's load: per pool and ISO week, capacity, the committed load
and the load if every open request were accepted (the heat map)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from paddock.db import utcnow
from paddock.motorsport.context import load_context
from paddock.motorsport.engine.demand import DayAxis, capacity_by_day, count_cars, load_by_pool
from paddock.motorsport.engine.season import SeasonContext
from paddock.motorsport.engine.standard import Scope, SupportRequest
from paddock.motorsport.schemas import (
    LoadRead,
    ResourceLoadRead,
    ResourceRead,
    UnavailabilityRead,
    WeekLoad,
)
from paddock.motorsport.support_requests import open_requests_of


def list_resources(session: Session, *, year: int | None = None) -> list[ResourceRead]:
    """Support pools with their units and, for a year, the days units are away."""
    now = utcnow()
    year = year or now.year
    context = load_context(session, year=year, now=now)
    grid = context.grid
    return [
        ResourceRead.of(
            pool,
            unit_labels=[grid.unit_labels[r] for r in grid.pools[pool.code].unit_rows],
            unavailability=[
                UnavailabilityRead.of(
                    u,
                    start_date=max(u.start_date, date(year, 1, 1)),
                    end_date=min(u.end_date, date(year, 12, 31)),
                )
                for u in pool.unavailability
                if u.end_date >= date(year, 1, 1) and u.start_date <= date(year, 12, 31)
            ],
        )
        for pool in context.pools
    ]


def resource_load(session: Session, *, year: int, now: datetime | None = None) -> LoadRead:
    """Per support pool and ISO week of the year: capacity (fewest units available on a day),
    committed load (most units held on a day by the entries) and the load if every open
    request were accepted, with what loads it: the planner's heat map."""
    now = now or utcnow()
    context = load_context(session, year=year, now=now)
    open_requests = open_requests_of(session, context)
    return LoadRead(
        year=year,
        standard_version=context.standard.version,
        open_requests=[r.code for r in open_requests],
        resources=weekly_load(context, open_requests),
    )


def weekly_load(
    context: SeasonContext, extra: Sequence[SupportRequest] = ()
) -> list[ResourceLoadRead]:
    model = context.model()
    committed = context.committed()
    with_extra = count_cars([*context.commitments, *(r.to_entry() for r in extra)])
    first = date(context.year, 1, 1)
    first -= timedelta(days=first.weekday())
    last = date(context.year, 12, 31)
    windows = [w for key in with_extra for w in model.windows(key)]
    axis = _Axis(first, last)
    load = load_by_pool(model, committed, axis)
    load_extra = load_by_pool(model, with_extra, axis)
    reads = []
    for code, pool in model.pools.pools.items():
        capacity = capacity_by_day(pool, axis)
        held = load.get(code, axis.zeros())
        wanted = load_extra.get(code, axis.zeros())
        weeks = []
        for start in range(0, axis.days, 7):
            span = slice(start, min(start + 7, axis.days))
            week_start = axis.day(start)
            week_end = week_start + timedelta(days=6)
            cap = int(capacity[span].min())
            peak = int(held[span].max())
            peak_extra = int(wanted[span].max())
            labels = sorted(
                {
                    w.label
                    for w in windows
                    if w.pool_code == code
                    and w.start_date <= week_end
                    and w.end_date >= week_start
                    and w.scope is not Scope.SEASON
                }
            )
            weeks.append(
                WeekLoad(
                    week_start=week_start,
                    capacity=cap,
                    committed=peak,
                    with_open_requests=peak_extra,
                    utilisation=round(peak / cap, 3) if cap else None,
                    short=int(np.maximum(wanted[span] - capacity[span], 0).max()),
                    labels=labels,
                )
            )
        reads.append(ResourceLoadRead.of(pool, code=code, weeks=weeks))
    return reads


class _Axis(DayAxis):
    """A fixed day axis over [first, last]; windows reaching outside it are clipped."""

    def __init__(self, first: date, last: date) -> None:
        self.origin = first
        self.days = (last - first).days + 1

    def span(self, start: date, end: date) -> slice:
        first = min(max((start - self.origin).days, 0), self.days)
        return slice(first, min(max((end - self.origin).days + 1, first), self.days))
