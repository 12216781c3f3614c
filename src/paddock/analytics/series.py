"""Breakdowns behind the management dashboard and the dealer portal, computed in SQL like the
headline KPIs (`analytics.service`):

- **Months** (`monthly`): per month of a year, drivers on the circuit, test drives and those
  from dealers, no-shows and circuit bookings still confirmed (the booked pipeline), from the
  per-day rollup plus the partial days at the year's edges; optionally for one dealer. Months
  are months of the rollup's UTC days (a booking late on a month's last evening west of UTC
  counts in the next month); the year's edges follow the site's zone, so the months add up
  to the headline figures exactly.
- **Utilisation by pool and hour of day** (`utilisation_by_hour`): allocated unit-hours over
  working unit-hours of each pool the experiences use, per local hour of the day, over whole
  UTC days. Allocations are grouped in SQL per pool by the hours they start and end in, and
  a sweep over the hours turns those edges into seconds per hour; working time comes from
  the units' weekly patterns less blocks (a few hundred units, not rows).
- **Invitation funnel** (`invitation_funnel`): of the people a dealer invited in a period,
  how many booked (a booking that was not cancelled), drove (checked in or completed) and
  bought (a sale converted their visit), counted once each, in one grouped query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock.analytics import sql
from paddock.analytics.service import (
    DONE,
    MAX_UTILISATION_DAYS,
    NOT_BOOKED,
    NOT_RESOURCES,
    KpiScope,
    scope_for,
    year_bounds,
)
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity import engine
from paddock.capacity.models import (
    Allocation,
    Block,
    Pool,
    Site,
    SiteHours,
    Unit,
    UnitShift,
    pool_membership,
)
from paddock.catalog.models import ProductDemand
from paddock.crm.models import Conversion
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution, Invitee
from paddock.errors import Invalid
from paddock.rollup.models import NO_DEALER, KpiBookingDay, KpiBookingDelta, KpiBookingMonth

HOUR = 3600
# Allocations of the centre's resources last hours; looking this far before a period's start
# finds every one that reaches into it while the (unit, start) index bounds the scan.
LONGEST_ALLOCATION = timedelta(days=2)


# --- Months ---------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    month: date  # its first day
    drivers: int = 0  # circuit bookings checked in or completed
    test_drives: int = 0  # driving bookings checked in or completed
    from_dealers: int = 0  # of those, booked through a dealer's invitation
    done: int = 0  # any product checked in or completed
    no_shows: int = 0
    booked: int = 0  # circuit bookings confirmed, not yet driven: the pipeline

    @property
    def dealer_share(self) -> float | None:
        return self.from_dealers / self.test_drives if self.test_drives else None

    @property
    def no_show_rate(self) -> float | None:
        """No-shows over bookings that came or should have (the KPI's definition)."""
        expected = self.no_shows + self.done
        return self.no_shows / expected if expected else None


def monthly(
    session: Session,
    *,
    year: int | None = None,
    site_code: str | None = None,
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> list[MonthFigures]:
    """The twelve months of a year (the sites' local year, like the KPIs)."""
    now = now or utcnow()
    scope = scope_for(session, site_code=site_code)
    year = year or now.astimezone(scope.zone).year
    start, end = year_bounds(year, scope.zone)
    days = _booking_days(session, scope, start, end, dealer_id)
    circuit, driving = set(scope.circuit_ids), set(scope.driving_ids)
    months = {date(year, m, 1): MonthFigures(date(year, m, 1)) for m in range(1, 13)}
    for day, product_id, status, dealer, n in session.execute(days):
        month = _month_of(_as_date(day), year)
        figures = months[month]
        count = int(n or 0)
        if status in DONE:
            figures.done += count
            figures.drivers += count if product_id in circuit else 0
            if product_id in driving:
                figures.test_drives += count
                figures.from_dealers += count if dealer else 0
        elif status == BookingStatus.NO_SHOW:
            figures.no_shows += count
        elif status == BookingStatus.CONFIRMED and product_id in circuit:
            figures.booked += count
    session.rollback()
    return list(months.values())


def _booking_days(
    session: Session, scope: KpiScope, start: datetime, end: datetime, dealer_id: int | None
) -> Select[*tuple[Any, ...]]:
    """(UTC day, product, status, from a dealer?, count) over [start, end): whole months from
    the rollup's month rows (all dealers together: attributed or not), the other whole days
    from the day rows, deltas not compacted yet, and the partial days at both ends from the
    bookings themselves. A month row's day is the month's first."""
    dialect = session.get_bind().dialect.name
    first = _utc_day_on_or_after(start)
    last = end.astimezone(UTC).date()
    parts: list[Select[*tuple[Any, ...]]] = []
    day_ranges = [(first, last)]
    month_from = first if first.day == 1 else _next_month(first)
    month_to = last.replace(day=1)
    if dealer_id is None and month_from < month_to:
        m = KpiBookingMonth
        parts.append(
            select(
                m.month.label("day"),
                m.product_id.label("product_id"),
                m.status.label("status"),
                m.attributed.label("dealer_id"),
                m.n.label("n"),
            ).where(m.month >= month_from, m.month < month_to)
        )
        day_ranges = [(first, month_from), (month_to, last)]
    for table, ranges_ in ((KpiBookingDay, day_ranges), (KpiBookingDelta, [(first, last)])):
        for lo, hi in ranges_:
            if lo >= hi:
                continue
            part = select(
                table.day.label("day"),
                table.product_id.label("product_id"),
                table.status.label("status"),
                table.dealer_id.label("dealer_id"),
                table.n.label("n"),
            ).where(table.day >= lo, table.day < hi)
            if dealer_id is not None:
                part = part.where(table.dealer_id == dealer_id)
            parts.append(part)
    b, a = Booking, BookingAttribution
    edges = [(start, _midnight(first)), (_midnight(last), end)]
    ranges = [
        and_(b.starts_at >= sql.instant(lo), b.starts_at < sql.instant(hi))
        for lo, hi in edges
        if lo < hi
    ]
    if ranges:
        live = (
            select(
                sql.utc_date(dialect, b.starts_at).label("day"),
                b.product_id.label("product_id"),
                b.status.label("status"),
                func.coalesce(a.dealer_id, NO_DEALER).label("dealer_id"),
                literal(1).label("n"),
            )
            .outerjoin(a, a.booking_id == b.id)
            .where(or_(*ranges))
        )
        if dealer_id is not None:
            live = live.where(a.dealer_id == dealer_id)
        parts.append(live)
    facts = union_all(*parts).subquery("days")
    from_dealer = case((facts.c.dealer_id != NO_DEALER, 1), else_=0)
    query = select(
        facts.c.day, facts.c.product_id, facts.c.status, from_dealer, func.sum(facts.c.n)
    ).group_by(facts.c.day, facts.c.product_id, facts.c.status, from_dealer)
    if scope.site_id is not None:
        query = query.where(facts.c.product_id.in_(scope.product_ids))
    return query


def cumulative(values: Sequence[int]) -> list[int]:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


# --- Utilisation by pool and hour of day -----------------------------------------------------


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
    if day_to <= day_from:
        raise Invalid("The utilisation period must end after it starts.")
    if (day_to - day_from).days > MAX_UTILISATION_DAYS:
        raise Invalid(f"Ask for utilisation over at most {MAX_UTILISATION_DAYS} days.")
    now = now or utcnow()
    scope = scope_for(session, site_code=site_code)
    demanded = select(ProductDemand.pool_id).distinct()
    pools_query = (
        select(Pool, Site.code, Site.time_zone)
        .join(Site, Site.id == Pool.site_id)
        .where(Pool.kind.not_in(NOT_RESOURCES), Pool.id.in_(demanded))
        .order_by(Site.code, Pool.id)
    )
    if scope.site_id is not None:
        pools_query = pools_query.where(Pool.site_id == scope.site_id)
    pools = session.execute(pools_query).all()
    if not pools:
        session.rollback()
        return HourlyUtilisation(day_from, day_to, [])
    start, end = _midnight(day_from), _midnight(day_to)
    pm = pool_membership.c
    members: dict[int, list[int]] = defaultdict(list)
    unit_sites: dict[int, int] = {}
    for pool_id, unit_id, site_id in session.connection().execute(
        select(pm.pool_id, Unit.id, Unit.site_id)
        .join(Unit, Unit.id == pm.unit_id)
        .where(pm.pool_id.in_([p.id for p, _, _ in pools]), Unit.active.is_(True))
    ):
        members[pool_id].append(unit_id)
        unit_sites[unit_id] = site_id
    allocated = _allocated_by_hour(session, [p.id for p, _, _ in pools], start, end, now)
    working = _working_by_hour(session, unit_sites, start, end)
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
    session.rollback()
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


def _working_by_hour(
    session: Session, unit_sites: dict[int, int], start: datetime, end: datetime
) -> dict[int, dict[int, float]]:
    """Working seconds per unit and local hour of day: its shifts (or its site's hours) less
    blocks. One pattern per site or shifted unit, so the cost follows patterns, not units."""
    if not unit_sites:
        return {}
    sites = {
        s.id: ZoneInfo(s.time_zone)
        for s in session.scalars(select(Site).where(Site.id.in_(set(unit_sites.values()))))
    }
    weekly: dict[tuple[str, int], dict[int, list[tuple[time, time]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for site_id, weekday, opens, closes in session.execute(
        select(SiteHours.site_id, SiteHours.weekday, SiteHours.opens_at, SiteHours.closes_at).where(
            SiteHours.site_id.in_(list(sites))
        )
    ):
        weekly[("site", site_id)][weekday].append((opens, closes))
    for unit_id, weekday, starts, ends in session.execute(
        select(UnitShift.unit_id, UnitShift.weekday, UnitShift.starts_at, UnitShift.ends_at).where(
            UnitShift.unit_id.in_(list(unit_sites))
        )
    ):
        weekly[("unit", unit_id)][weekday].append((starts, ends))
    blocks: dict[int, list[engine.Interval]] = defaultdict(list)
    for blocked, site_id, b_start, b_end in session.execute(
        select(Block.unit_id, Block.site_id, Block.starts_at, Block.ends_at).where(
            Block.site_id.in_(list(sites)),
            Block.starts_at < sql.instant(end),
            Block.ends_at > sql.instant(start),
        )
    ):
        targets = (
            [u for u, s in unit_sites.items() if s == site_id] if blocked is None else [blocked]
        )
        for target in targets:
            if target in unit_sites:
                blocks[target].append((b_start, b_end))
    # Units working the same weekly pattern at the same site share its hours.
    patterns: dict[tuple[object, ...], tuple[list[engine.Interval], dict[int, float]]] = {}
    out: dict[int, dict[int, float]] = {}
    for unit_id, site_id in unit_sites.items():
        zone = sites[site_id]
        week = (
            weekly[("unit", unit_id)] if ("unit", unit_id) in weekly else weekly[("site", site_id)]
        )
        key = (site_id, *sorted((day, tuple(spans)) for day, spans in week.items()))
        if key not in patterns:
            days = (start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date())
            intervals = [
                (max(s, start), min(e, end))
                for s, e in engine.local_intervals(*days, week, zone)
                if e > start and s < end
            ]
            patterns[key] = (intervals, _by_local_hour(intervals, zone))
        intervals, hours = patterns[key]
        if unit_id not in blocks:
            out[unit_id] = hours
            continue
        own = dict(hours)
        for b_start, b_end in engine.merge(blocks[unit_id]):
            cut = [
                (max(b_start, w_start), min(b_end, w_end))
                for w_start, w_end in intervals
                if b_end > w_start and b_start < w_end
            ]
            for hour, seconds in _by_local_hour(cut, zone).items():
                own[hour] = own.get(hour, 0.0) - seconds
        out[unit_id] = own
    return out


def _by_local_hour(intervals: Sequence[engine.Interval], zone: ZoneInfo) -> dict[int, float]:
    """Seconds of the intervals in each local hour of the day (0-23). A working interval lies
    within a day, away from the night's DST change: its start's UTC offset holds throughout."""
    out: dict[int, float] = defaultdict(float)
    for start, end in intervals:
        offset = start.astimezone(zone).utcoffset() or timedelta()
        moment = int((start + offset).timestamp())  # local wall-clock seconds
        stop = moment + int((end - start).total_seconds())
        while moment < stop:
            step = min(stop, (moment // HOUR + 1) * HOUR)
            out[(moment // HOUR) % 24] += step - moment
            moment = step
    return dict(out)


# --- Invitation funnel ---------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    invited: int
    booked: int
    drove: int
    bought: int

    def rate(self, stage: str) -> float | None:
        """A stage as a share of the people invited."""
        return getattr(self, stage) / self.invited if self.invited else None


def invitation_funnel(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    dealer_id: int | None = None,
) -> Funnel:
    """People invited personally in [since, until) (invitees of dealers' campaigns) and how
    far they went: booked, drove, bought. Each person counts once per stage."""
    i, a, b, c = Invitee, BookingAttribution, Booking, Conversion
    booked = and_(b.id.is_not(None), b.status.not_in(NOT_BOOKED))
    query = (
        select(
            func.count(distinct(i.id)),
            func.count(distinct(case((booked, i.id)))),
            func.count(distinct(case((and_(booked, b.status.in_(DONE)), i.id)))),
            func.count(distinct(case((c.id.is_not(None), i.id)))),
        )
        .select_from(i)
        .outerjoin(a, a.invitee_id == i.id)
        .outerjoin(b, b.id == a.booking_id)
        .outerjoin(c, c.booking_id == b.id)
        .where(i.created_at >= sql.instant(since), i.created_at < sql.instant(until))
    )
    if dealer_id is not None:
        query = query.where(i.dealer_id == dealer_id)
    invited, booked_n, drove, bought = (int(v or 0) for v in session.execute(query).one())
    session.rollback()
    return Funnel(invited, booked_n, drove, bought)


# --- Helpers --------------------------------------------------------------------------------


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite's date() gives text


def _month_of(day: date, year: int) -> date:
    """The month of a UTC day, kept inside the year (its first hours may be the last local
    evening of the year before, its last the first of the next)."""
    if day.year < year:
        return date(year, 1, 1)
    if day.year > year:
        return date(year, 12, 1)
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _utc_day_on_or_after(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day if _midnight(day) >= moment else day + timedelta(days=1)


__all__ = [
    "Funnel",
    "HourlyUtilisation",
    "MonthFigures",
    "PoolHours",
    "cumulative",
    "invitation_funnel",
    "monthly",
    "utilisation_by_hour",
]
