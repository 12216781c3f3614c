"""Utilisation: allocated unit-hours over working unit-hours (`working_time`) of the centre's
pools over whole UTC days, per pool (`utilisation`, a headline KPI) and per pool and local hour
of the day (`utilisation_by_hour`, the dashboard's heat map)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import Integer, Row, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock.analytics import sql
from paddock.analytics.scope import (
    NOT_RESOURCES,
    KpiScope,
    check_utilisation_days,
    midnight,
    scope_for,
    serial_reads,
)
from paddock.analytics.working_time import HOUR, available_hours, working_by_hour
from paddock.capacity.models import Allocation, Pool, Site, Unit, pool_membership
from paddock.catalog.models import ProductDemand
from paddock.db import utcnow
from paddock.rollup.models import KpiUnitDay, KpiUnitDelta

# Allocations of the centre's resources last hours; looking this far before a period's start
# finds every one that reaches into it while the (unit, start) index bounds the scan.
LONGEST_ALLOCATION = timedelta(days=2)


@dataclass
class PoolUse:
    site: str
    pool: str
    name: str
    kind: str
    units: int
    allocated_hours: float
    available_hours: float
    rate: float


def utilisation(session: Session, scope: KpiScope, day_from: date, day_to: date) -> list[PoolUse]:
    """Allocated unit-hours (the rollup's seconds per unit and UTC day, summed per pool in SQL)
    over available unit-hours (working time of the pool's units less blocks, from their weekly
    patterns: a few hundred units, not rows) over the UTC days [day_from, day_to)."""
    check_utilisation_days(day_from, day_to)
    serial_reads(session)
    pools, members, unit_sites = _pools(session, scope, demanded_only=False)
    if not pools:
        return []
    pool_ids = [p.id for p, _, _ in pools]
    pm = pool_membership.c
    used = union_all(
        *(
            select(table.unit_id, table.seconds).where(table.day >= day_from, table.day < day_to)
            for table in (KpiUnitDay, KpiUnitDelta)
        )
    ).subquery("used")
    allocated = {
        pool_id: float(seconds or 0) / HOUR
        for pool_id, seconds in session.execute(
            select(pm.pool_id, func.sum(used.c.seconds))
            .select_from(used)
            .join(pool_membership, pm.unit_id == used.c.unit_id)
            .where(pm.pool_id.in_(pool_ids))
            .group_by(pm.pool_id)
        )
    }
    available = available_hours(session, unit_sites, midnight(day_from), midnight(day_to))
    out = []
    for pool, site_code, _ in pools:
        hours = sum(available.get(u, 0.0) for u in members.get(pool.id, []))
        spent = allocated.get(pool.id, 0.0)
        out.append(
            PoolUse(
                site=site_code,
                pool=pool.code,
                name=pool.name,
                kind=pool.kind,
                units=len(members.get(pool.id, [])),
                allocated_hours=round(spent, 2),
                available_hours=round(hours, 2),
                rate=round(spent / hours, 4) if hours else 0.0,
            )
        )
    return out


def _pools(
    session: Session, scope: KpiScope, *, demanded_only: bool
) -> tuple[list[Row[Pool, str, str]], dict[int, list[int]], dict[int, int]]:
    """The centre's pools in the scope (with their site's code and time zone; only those an
    experience demands if asked), their active units per pool, and each unit's site."""
    pools_query = (
        select(Pool, Site.code, Site.time_zone)
        .join(Site, Site.id == Pool.site_id)
        .where(Pool.kind.not_in(NOT_RESOURCES))
        .order_by(Site.code, Pool.id)
    )
    if demanded_only:
        pools_query = pools_query.where(Pool.id.in_(select(ProductDemand.pool_id).distinct()))
    if scope.site_id is not None:
        pools_query = pools_query.where(Pool.site_id == scope.site_id)
    pools = list(session.execute(pools_query).all())
    members: dict[int, list[int]] = defaultdict(list)
    unit_sites: dict[int, int] = {}
    if not pools:
        return pools, members, unit_sites
    pm = pool_membership.c
    # A Core connection: plain rows, no ORM row handling.
    for pool_id, unit_id, site_id in session.connection().execute(
        select(pm.pool_id, Unit.id, Unit.site_id)
        .join(Unit, Unit.id == pm.unit_id)
        .where(pm.pool_id.in_([p.id for p, _, _ in pools]), Unit.active.is_(True))
    ):
        members[pool_id].append(unit_id)
        unit_sites[unit_id] = site_id
    return pools, members, unit_sites


@dataclass
class PoolHours:
    site: str
    pool: str
    name: str
    kind: str
    units: int
    allocated: list[float] = field(default_factory=lambda: [0.0] * 24)  # hours, per local hour
    available: list[float] = field(default_factory=lambda: [0.0] * 24)

    @property
    def rates(self) -> list[float | None]:
        """Allocated over available per hour of day; None where nothing works then."""
        return [
            round(used / hours, 4) if hours > 0 else None
            for used, hours in zip(self.allocated, self.available, strict=True)
        ]

    @property
    def rate(self) -> float | None:
        hours = sum(self.available)
        return round(sum(self.allocated) / hours, 4) if hours > 0 else None


@dataclass
class HourlyUtilisation:
    day_from: date
    day_to: date  # exclusive
    pools: list[PoolHours]

    @property
    def hours(self) -> list[int]:
        """The hours of the day in which any pool works (the heat map's columns)."""
        working = [h for h in range(24) if any(p.available[h] > 0 for p in self.pools)]
        return list(range(working[0], working[-1] + 1)) if working else []


def utilisation_by_hour(
    session: Session,
    *,
    day_from: date,
    day_to: date,
    site_code: str | None = None,
    now: datetime | None = None,
) -> HourlyUtilisation:
    """Per pool that an experience demands, allocated and working unit-hours by local hour of
    the day over the UTC days [day_from, day_to)."""
    check_utilisation_days(day_from, day_to)
    now = now or utcnow()
    scope = scope_for(session, site_code=site_code)
    pools, members, unit_sites = _pools(session, scope, demanded_only=True)
    if not pools:
        return HourlyUtilisation(day_from, day_to, [])
    start, end = midnight(day_from), midnight(day_to)
    allocated = _allocated_by_hour(session, [p.id for p, _, _ in pools], start, end, now)
    working = working_by_hour(session, unit_sites, start, end)
    out = []
    hours_total = int((end - start).total_seconds()) // HOUR
    local_hour: dict[str, npt.NDArray[np.int64]] = {}
    for pool, site_code_, zone_name in pools:
        if zone_name not in local_hour:
            zone = ZoneInfo(zone_name)
            local_hour[zone_name] = np.array(
                [(start + timedelta(hours=k)).astimezone(zone).hour for k in range(hours_total)]
            )
        row = PoolHours(
            site=site_code_,
            pool=pool.code,
            name=pool.name,
            kind=pool.kind,
            units=len(members.get(pool.id, [])),
        )
        busy = allocated.get(pool.id)
        if busy is not None:
            per_hour = np.bincount(local_hour[zone_name], weights=busy, minlength=24)
            row.allocated = [float(v) / HOUR for v in per_hour]
        for unit_id in members.get(pool.id, []):
            for hour, seconds in working.get(unit_id, {}).items():
                row.available[hour] += seconds / HOUR
        row.allocated = [round(v, 2) for v in row.allocated]
        row.available = [round(v, 2) for v in row.available]
        out.append(row)
    return HourlyUtilisation(day_from, day_to, out)


def _allocated_by_hour(
    session: Session, pool_ids: list[int], start: datetime, end: datetime, now: datetime
) -> dict[int, npt.NDArray[np.float64]]:
    """Seconds the pools' units were allocated, per pool and UTC hour since `start`.

    One grouped query gives, per pool and (start hour, end hour) of the allocations clipped
    to the period, how many there are and their summed start and end seconds; a sweep over
    the hours then turns those edges into seconds per hour exactly: an hour holds a full hour
    of every allocation running through it, the rest of the hour for each one starting in it,
    less the rest of the hour for each one ending in it."""
    dialect = session.get_bind().dialect.name
    total = (end - start).total_seconds()
    a, pm = Allocation, pool_membership.c
    origin = sql.instant(start)
    seconds_from = sql.seconds_between(dialect, origin, a.starts_at)
    seconds_to = sql.seconds_between(dialect, origin, a.ends_at)
    lo = func.round(sql.greatest(dialect, literal(0.0), seconds_from))
    hi = func.round(sql.least(dialect, literal(total), seconds_to))
    spans = (
        select(pm.pool_id.label("pool_id"), lo.label("lo"), hi.label("hi"))
        .select_from(a)
        .join(pool_membership, pm.unit_id == a.unit_id)
        .where(
            pm.pool_id.in_(pool_ids),
            a.active.is_(True),
            # Blocked time (maintenance, closures) is not use.
            a.engagement_kind != "blocked",
            or_(a.expires_at.is_(None), a.expires_at > sql.instant(now)),
            a.starts_at >= sql.instant(start - LONGEST_ALLOCATION),
            a.starts_at < sql.instant(end),
            a.ends_at > origin,
        )
        .subquery("spans")
    )
    first_hour = _whole_hours(dialect, spans.c.lo)
    last_hour = _whole_hours(dialect, spans.c.hi)
    query = (
        select(
            spans.c.pool_id,
            first_hour,
            last_hour,
            func.count(),
            func.sum(spans.c.lo),
            func.sum(spans.c.hi),
        )
        .where(spans.c.hi > spans.c.lo)
        .group_by(spans.c.pool_id, first_hour, last_hour)
    )
    # Per pool and hour: how many allocations start in it and their seconds left in the hour;
    # the same for allocations ending in it; then a running count along the hours (numpy).
    hours_total = int(total) // HOUR
    # A Core connection: thousands of plain rows, no ORM row handling.
    rows = session.connection().execute(query).all()
    if not rows:
        return {}
    table = np.array([tuple(r) for r in rows], dtype=float)
    pool_of = table[:, 0].astype(int)
    first, last, count = table[:, 1].astype(int), table[:, 2].astype(int), table[:, 3]
    start_rest = count * HOUR - (table[:, 4] - count * first * HOUR)
    end_rest = count * HOUR - (table[:, 5] - count * last * HOUR)
    ids = sorted(set(pool_of.tolist()))
    index = np.searchsorted(ids, pool_of)
    shape = (len(ids), hours_total + 1)
    net = np.zeros(shape)
    rest = np.zeros(shape)
    np.add.at(net, (index, first), count)
    np.add.at(net, (index, last), -count)
    np.add.at(rest, (index, first), start_rest)
    np.add.at(rest, (index, last), -end_rest)
    running = np.cumsum(net, axis=1) - net  # allocations running at each hour's start
    seconds = (running * HOUR + rest)[:, :hours_total]
    return {pool_id: np.maximum(seconds[i], 0.0) for i, pool_id in enumerate(ids)}


def _whole_hours(dialect: str, seconds: ColumnElement[Any]) -> ColumnElement[int]:
    """floor(seconds / 3600) for seconds >= 0 (SQLite's CAST truncates, PostgreSQL's rounds)."""
    if dialect == "postgresql":
        return cast(func.floor(seconds / HOUR), Integer)
    return cast(seconds / HOUR, Integer)
