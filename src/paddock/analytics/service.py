"""KPIs against the year-one targets, computed in SQL with aggregates (sums with CASE, GROUP BY)
over the per-day rollup that database triggers keep exact (`paddock.rollup`), plus the few
bookings of the partial days at a period's edges, read live. No query reads a period's
bookings row by row, so the cost does not grow with the number of bookings.

Definitions (also in `paddock kpi --help`):
- **Drivers on the circuit**: bookings of a circuit product (one with a demand on a circuit
  module pool: test drives, comparisons, deliveries' first miles) checked in or completed, by
  start time. One booking is one driver at the wheel (sessions are 1:1).
- **Forecast to year end**: drivers so far + for each remaining day the larger of the run rate
  (circuit drivers per day over the 28 whole UTC days before today) and that day's booked
  pipeline (confirmed or checked-in circuit bookings) times the show rate of the 90 days before
  today.
- **Share from dealers**: of the test drives driven (driving products, checked in or
  completed), those booked through a dealer's invitation (a booking attribution). Target 15 %.
- **Conversion rate**: of the test drives prospects drove in the period (a driving visit linked
  to a person while a prospect), those a sale converted (a sale converts the buyer's last
  prospect visit within the window; see `crm.sales`).
- **No-show rate**: no-shows / (no-shows + checked in + completed), all products.
- **Utilisation**: per pool, hours its units were allocated / hours its units worked (shifts or
  the site's hours, less blocks) over whole UTC days (default the last 28).
- **Dealer leaderboard**: per dealer, attributed bookings (not cancelled), drivers, no-shows and
  conversions.
Periods are calendar years in the site's time zone (all sites: the first site's, the
headquarters'); the rollup's days are UTC days (the pipeline's buckets too).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Subquery, and_, case, func, literal, or_, select, text, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock import csv_files
from paddock.analytics import sql
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity import engine
from paddock.capacity.models import (
    Block,
    Pool,
    Site,
    SiteHours,
    Unit,
    UnitShift,
    pool_membership,
)
from paddock.catalog.models import Product, ProductDemand
from paddock.crm.models import BookingPerson, Conversion, PersonKind
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution, Dealer
from paddock.errors import Invalid, NotFound
from paddock.rollup.models import (
    NO_DEALER,
    NOT_LINKED,
    KpiBookingDay,
    KpiBookingDelta,
    KpiBookingMonth,
    KpiUnitDay,
    KpiUnitDelta,
)

# BRIEF (plan of 2012, press): "20,000 people drive on the circuit in the first year" and
# "15% of those test drives come directly from the dealer network's clients".
DRIVERS_TARGET = 20_000
DEALER_SHARE_TARGET = 0.15
RUN_RATE_DAYS = 28
SHOW_RATE_DAYS = 90
UTILISATION_DAYS = 28
MAX_UTILISATION_DAYS = 400
# Places of a dealer's allotment and customers' own cars are not the centre's resources.
NOT_RESOURCES = ("dealer_allotment", "customer_vehicle")
DONE = (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)
PIPELINE = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
NOT_BOOKED = (BookingStatus.CANCELLED, BookingStatus.EXPIRED, BookingStatus.HELD)


@dataclass(frozen=True)
class KpiScope:
    site_id: int | None
    site_code: str | None
    zone: ZoneInfo
    product_ids: tuple[int, ...]
    circuit_ids: tuple[int, ...]
    driving_ids: tuple[int, ...]


@dataclass
class DriversKpi:
    year: int
    drivers: int
    target: int
    share_of_target: float
    run_rate_per_day: float
    pipeline_booked: int
    show_rate: float
    forecast: int
    forecast_share_of_target: float
    on_track: bool


@dataclass
class DealerShareKpi:
    test_drives: int
    from_dealers: int
    share: float
    target: float
    on_track: bool


@dataclass
class ConversionKpi:
    prospects_drove: int
    converted: int
    rate: float
    window_days: int


@dataclass
class NoShowKpi:
    no_shows: int
    expected: int
    rate: float


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


@dataclass
class DealerRank:
    rank: int
    dealer: str
    name: str
    region: str
    bookings: int
    drivers: int
    no_shows: int
    conversions: int
    share_of_dealer_drivers: float


@dataclass
class KpiReport:
    as_of: datetime
    site: str | None
    period_start: datetime
    period_end: datetime
    drivers: DriversKpi
    dealer_share: DealerShareKpi
    conversion: ConversionKpi
    no_show: NoShowKpi
    utilisation_from: date
    utilisation_to: date
    utilisation: list[PoolUse] = field(default_factory=list)
    leaderboard: list[DealerRank] = field(default_factory=list)


def scope_for(session: Session, *, site_code: str | None = None) -> KpiScope:
    """Which products count as what, for one site or all (a few small queries)."""
    site = None
    if site_code:
        site = session.scalar(select(Site).where(Site.code == site_code))
        if site is None:
            raise NotFound(f"No site with code '{site_code}'.")
    else:
        site = session.scalar(select(Site).order_by(Site.id).limit(1))
    zone = ZoneInfo(site.time_zone) if site is not None else ZoneInfo("UTC")
    site_id = site.id if site is not None and site_code else None
    products = select(Product.id, Product.category)
    if site_id is not None:
        products = products.where(Product.site_id == site_id)
    rows = session.execute(products).all()
    circuit_query = (
        select(ProductDemand.product_id)
        .join(Pool, Pool.id == ProductDemand.pool_id)
        .where(Pool.kind == "module")
        .distinct()
    )
    circuit = set(session.scalars(circuit_query).all())
    ids = tuple(sorted(r[0] for r in rows))
    return KpiScope(
        site_id=site_id,
        site_code=site_code,
        zone=zone,
        product_ids=ids,
        circuit_ids=tuple(i for i in ids if i in circuit),
        driving_ids=tuple(sorted(i for i, category in rows if category == "driving")),
    )


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(date(year, 1, 1), time(), tzinfo=zone),
        datetime.combine(date(year + 1, 1, 1), time(), tzinfo=zone),
    )


def report(
    session: Session,
    *,
    site_code: str | None = None,
    year: int | None = None,
    now: datetime | None = None,
    window_days: int = 90,
    utilisation_from: date | None = None,
    utilisation_to: date | None = None,
    leaderboard_limit: int = 20,
) -> KpiReport:
    now = now or utcnow()
    scope = scope_for(session, site_code=site_code)
    year = year or now.astimezone(scope.zone).year
    start, end = year_bounds(year, scope.zone)
    until = min(max(now, start), end)
    use_to = utilisation_to or min(now, end).astimezone(UTC).date()
    use_from = utilisation_from or use_to - timedelta(days=UTILISATION_DAYS)
    drivers, share, no_show = drivers_and_share(session, scope, start, end, now)
    result = KpiReport(
        as_of=now,
        site=site_code,
        period_start=start,
        period_end=end,
        drivers=drivers,
        dealer_share=share,
        conversion=conversion(session, scope, start, until, window_days),
        no_show=no_show,
        utilisation_from=use_from,
        utilisation_to=use_to,
        utilisation=utilisation(session, scope, use_from, use_to),
        leaderboard=leaderboard(session, scope, start, until, limit=leaderboard_limit),
    )
    session.rollback()  # end the read transaction promptly
    return result


def facts(
    session: Session,
    scope: KpiScope,
    start: datetime,
    until: datetime,
    *,
    by_dealer: bool = False,
) -> Subquery:
    """Bookings counted by (product, status, dealer, kind) over [start, until): whole UTC days
    from the rollup (day rows and not yet compacted deltas), the partial days at both ends from
    the bookings themselves (an indexed range of a day at most). Without `by_dealer`, the
    dealer column is only 1 (attributed to a dealer) or 0, so whole months come from the
    month rows: a year reads a few thousand cells."""
    first = _utc_day_on_or_after(start)
    last = until.astimezone(UTC).date()
    parts: list[Select[*tuple[Any, ...]]] = []
    edges: list[tuple[datetime, datetime]] = []
    if first < last:
        month_from = first if first.day == 1 else _next_month(first)
        month_to = last.replace(day=1)
        day_ranges = [(first, last)]
        if not by_dealer and month_from < month_to:
            m = KpiBookingMonth
            parts.append(
                select(m.product_id, m.status, m.attributed.label("dealer_id"), m.kind, m.n).where(
                    m.month >= month_from, m.month < month_to
                )
            )
            day_ranges = [(first, month_from), (month_to, last)]
        d = KpiBookingDay
        parts.extend(
            select(d.product_id, d.status, d.dealer_id, d.kind, d.n).where(d.day >= lo, d.day < hi)
            for lo, hi in day_ranges
            if lo < hi
        )
        # Deltas not yet compacted are in neither the day nor the month rows.
        delta = KpiBookingDelta
        parts.append(
            select(delta.product_id, delta.status, delta.dealer_id, delta.kind, delta.n).where(
                delta.day >= first, delta.day < last
            )
        )
        edges = [(start, _midnight(first)), (_midnight(last), until)]
    else:
        edges = [(start, until)]
    b, a, p = Booking, BookingAttribution, BookingPerson
    ranges = [
        and_(b.starts_at >= sql.instant(lo), b.starts_at < sql.instant(hi))
        for lo, hi in edges
        if lo < hi
    ]
    if ranges:
        # A few hundred bookings: look their dealer and person up one by one (primary keys),
        # rather than let the planner hash the whole attribution table.
        dealer = select(a.dealer_id).where(a.booking_id == b.id).scalar_subquery()
        kind = select(p.kind_at_visit).where(p.booking_id == b.id).scalar_subquery()
        parts.append(
            select(
                b.product_id,
                b.status,
                func.coalesce(dealer, NO_DEALER).label("dealer_id"),
                func.coalesce(kind, NOT_LINKED).label("kind"),
                literal(1).label("n"),
            ).where(or_(*ranges))
        )
    if not parts:
        parts.append(
            select(
                literal(0).label("product_id"),
                literal("").label("status"),
                literal(NO_DEALER).label("dealer_id"),
                literal(NOT_LINKED).label("kind"),
                literal(0).label("n"),
            )
        )
    every = union_all(*parts).subquery("every")
    dealer_key: ColumnElement[Any] = (
        every.c.dealer_id
        if by_dealer
        else case((every.c.dealer_id != NO_DEALER, 1), else_=NO_DEALER).label("dealer_id")
    )
    # Pre-aggregated: a few hundred cells, whatever the number of days and bookings.
    return (
        select(
            every.c.product_id,
            every.c.status,
            dealer_key,
            every.c.kind,
            func.sum(every.c.n).label("n"),
        )
        .group_by(every.c.product_id, every.c.status, dealer_key, every.c.kind)
        .subquery("facts")
    )


def serial_reads(session: Session) -> None:
    """KPI reads aggregate a few tens of thousands of rollup rows: on PostgreSQL, parallel
    workers cost more to start than they save, so this read transaction does without."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def drivers_and_share(
    session: Session, scope: KpiScope, start: datetime, end: datetime, now: datetime
) -> tuple[DriversKpi, DealerShareKpi, NoShowKpi]:
    """Drivers, the dealer share and no-shows over the year so far; the run rate (28 days) and
    the show rate (90 days) for the forecast; the booked pipeline to the year's end."""
    until = min(max(now, start), end)
    serial_reads(session)
    year = facts(session, scope, start, until)
    circuit = year.c.product_id.in_(scope.circuit_ids)
    driving = year.c.product_id.in_(scope.driving_ids)
    done = year.c.status.in_(DONE)
    no_show = year.c.status == BookingStatus.NO_SHOW
    query = select(
        _sum(year, and_(done, circuit)),
        _sum(year, and_(done, driving)),
        _sum(year, and_(done, driving, year.c.dealer_id != NO_DEALER)),
        _sum(year, no_show),
        _sum(year, or_(done, no_show)),
    )
    if scope.site_id is not None:
        query = query.where(year.c.product_id.in_(scope.product_ids))
    drivers, tests, dealers, no_shows, finished = (
        int(v or 0) for v in session.execute(query).one()
    )
    run_rate, show_rate = 0.0, 1.0
    booked, excess = 0, 0.0
    if now < end:
        # Whole UTC days before today: the rollup alone answers, no partial day to read live.
        today = _midnight(now.astimezone(UTC).date())
        recent = facts(session, scope, today - timedelta(days=RUN_RATE_DAYS), today)
        run_rate = (
            int(
                session.scalar(
                    select(_sum(recent, and_(recent.c.status.in_(DONE), _in(recent, scope))))
                )
                or 0
            )
            / RUN_RATE_DAYS
        )
        window = facts(session, scope, today - timedelta(days=SHOW_RATE_DAYS), today)
        shown, missed = (
            int(v or 0)
            for v in session.execute(
                select(
                    _sum(window, and_(window.c.status.in_(DONE), _in(window, scope))),
                    _sum(
                        window, and_(window.c.status == BookingStatus.NO_SHOW, _in(window, scope))
                    ),
                )
            ).one()
        )
        show_rate = shown / (shown + missed) if shown + missed else 1.0
        booked, excess = _pipeline(session, scope, max(now, start), end, run_rate, show_rate)
    remaining_days = max((end - max(now, start)).total_seconds(), 0) / 86400
    forecast = round(drivers + run_rate * remaining_days + excess) if now < end else drivers
    share = dealers / tests if tests else 0.0
    return (
        DriversKpi(
            year=start.year,
            drivers=drivers,
            target=DRIVERS_TARGET,
            share_of_target=drivers / DRIVERS_TARGET,
            run_rate_per_day=round(run_rate, 2),
            pipeline_booked=booked,
            show_rate=round(show_rate, 4),
            forecast=forecast,
            forecast_share_of_target=forecast / DRIVERS_TARGET,
            on_track=forecast >= DRIVERS_TARGET,
        ),
        DealerShareKpi(
            test_drives=tests,
            from_dealers=dealers,
            share=round(share, 4),
            target=DEALER_SHARE_TARGET,
            on_track=share >= DEALER_SHARE_TARGET,
        ),
        NoShowKpi(
            no_shows=no_shows,
            expected=finished,
            rate=round(no_shows / finished, 4) if finished else 0.0,
        ),
    )


def _pipeline(
    session: Session,
    scope: KpiScope,
    start: datetime,
    end: datetime,
    run_rate: float,
    show_rate: float,
) -> tuple[int, float]:
    """Booked circuit bookings ahead, and how many more drivers than the run rate they promise
    (summed over the UTC days where the expected turn-out beats the run rate)."""
    if start >= end:
        return 0, 0.0
    dialect = session.get_bind().dialect.name
    first = _utc_day_on_or_after(start)
    last = end.astimezone(UTC).date()
    parts: list[Select[*tuple[Any, ...]]] = []
    for table in (KpiBookingDay, KpiBookingDelta):
        parts.append(
            select(table.day.label("day"), table.n.label("n")).where(
                table.day >= first,
                table.day < last,
                table.status.in_(PIPELINE),
                table.product_id.in_(scope.circuit_ids),
            )
        )
    b = Booking
    edges = [(start, min(_midnight(first), end)), (max(_midnight(last), start), end)]
    ranges = [
        and_(b.starts_at >= sql.instant(lo), b.starts_at < sql.instant(hi))
        for lo, hi in edges
        if lo < hi
    ]
    if ranges:
        parts.append(
            select(sql.utc_date(dialect, b.starts_at).label("day"), literal(1).label("n")).where(
                or_(*ranges), b.status.in_(PIPELINE), b.product_id.in_(scope.circuit_ids)
            )
        )
    ahead = union_all(*parts).subquery("ahead")
    per_day = select(ahead.c.day, func.sum(ahead.c.n).label("n")).group_by(ahead.c.day).subquery()
    expected = per_day.c.n * literal(show_rate)
    row = session.execute(
        select(
            func.coalesce(func.sum(per_day.c.n), 0),
            func.coalesce(
                func.sum(
                    case((expected > literal(run_rate), expected - literal(run_rate)), else_=0.0)
                ),
                0.0,
            ),
        )
    ).one()
    return int(row[0] or 0), float(row[1] or 0.0)


def conversion(
    session: Session, scope: KpiScope, start: datetime, until: datetime, window_days: int
) -> ConversionKpi:
    serial_reads(session)
    period = facts(session, scope, start, until)
    drove = int(
        session.scalar(
            select(
                _sum(
                    period,
                    and_(
                        period.c.status.in_(DONE),
                        period.c.product_id.in_(scope.driving_ids),
                        period.c.kind == PersonKind.PROSPECT,
                    ),
                )
            )
        )
        or 0
    )
    converted_query = (
        select(func.count())
        .select_from(Conversion)
        .where(Conversion.visit_at >= sql.instant(start), Conversion.visit_at < sql.instant(until))
    )
    if scope.site_id is not None:
        converted_query = converted_query.join(Booking, Booking.id == Conversion.booking_id).where(
            Booking.product_id.in_(scope.product_ids)
        )
    converted = int(session.scalar(converted_query) or 0)
    return ConversionKpi(
        prospects_drove=drove,
        converted=converted,
        rate=round(converted / drove, 4) if drove else 0.0,
        window_days=window_days,
    )


def utilisation(session: Session, scope: KpiScope, day_from: date, day_to: date) -> list[PoolUse]:
    """Allocated unit-hours (the rollup's seconds per unit and UTC day, summed per pool in SQL)
    over available unit-hours (working time of the pool's units less blocks, from their weekly
    patterns: a few hundred units, not rows) over the UTC days [day_from, day_to)."""
    if day_to <= day_from:
        raise Invalid("The utilisation period must end after it starts.")
    if (day_to - day_from).days > MAX_UTILISATION_DAYS:
        raise Invalid(f"Ask for utilisation over at most {MAX_UTILISATION_DAYS} days.")
    serial_reads(session)
    pools_query = (
        select(Pool, Site.code)
        .join(Site, Site.id == Pool.site_id)
        .where(Pool.kind.not_in(NOT_RESOURCES))
    )
    if scope.site_id is not None:
        pools_query = pools_query.where(Pool.site_id == scope.site_id)
    pools = session.execute(pools_query.order_by(Site.code, Pool.id)).all()
    if not pools:
        return []
    pool_ids = [p.id for p, _ in pools]
    pm = pool_membership.c
    members: dict[int, list[int]] = defaultdict(list)
    unit_sites: dict[int, int] = {}
    for pool_id, unit_id, site_id in session.execute(
        select(pm.pool_id, Unit.id, Unit.site_id)
        .join(Unit, Unit.id == pm.unit_id)
        .where(pm.pool_id.in_(pool_ids), Unit.active.is_(True))
    ):
        members[pool_id].append(unit_id)
        unit_sites[unit_id] = site_id
    used = union_all(
        *(
            select(table.unit_id, table.seconds).where(table.day >= day_from, table.day < day_to)
            for table in (KpiUnitDay, KpiUnitDelta)
        )
    ).subquery("used")
    allocated = {
        pool_id: float(seconds or 0) / 3600
        for pool_id, seconds in session.execute(
            select(pm.pool_id, func.sum(used.c.seconds))
            .select_from(used)
            .join(pool_membership, pm.unit_id == used.c.unit_id)
            .where(pm.pool_id.in_(pool_ids))
            .group_by(pm.pool_id)
        )
    }
    available = _available_hours(session, unit_sites, _midnight(day_from), _midnight(day_to))
    out = []
    for pool, site_code in pools:
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


def _available_hours(
    session: Session, unit_sites: dict[int, int], start: datetime, end: datetime
) -> dict[int, float]:
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
        select(SiteHours.site_id, SiteHours.weekday, SiteHours.opens_at, SiteHours.closes_at)
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
            blocks[target].append((b_start, b_end))
    patterns: dict[tuple[str, int], list[engine.Interval]] = {}
    hours: dict[int, float] = {}
    for unit_id, site_id in unit_sites.items():
        key = ("unit", unit_id) if ("unit", unit_id) in weekly else ("site", site_id)
        if key not in patterns:
            zone = sites[site_id]
            days = (start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date())
            patterns[key] = _clip(engine.local_intervals(*days, weekly[key], zone), start, end)
        working = patterns[key]
        total = sum((e - s).total_seconds() for s, e in working)
        for b_start, b_end in engine.merge(blocks.get(unit_id, [])):
            for w_start, w_end in working:
                overlap = (min(b_end, w_end) - max(b_start, w_start)).total_seconds()
                total -= max(overlap, 0.0)
        hours[unit_id] = total / 3600
    return hours


def leaderboard(
    session: Session,
    scope: KpiScope,
    start: datetime,
    until: datetime,
    *,
    limit: int = 20,
) -> list[DealerRank]:
    """Dealers ranked by drivers (then bookings, conversions) in the period."""
    serial_reads(session)
    period = facts(session, scope, start, until, by_dealer=True)
    query = (
        select(
            period.c.dealer_id,
            _sum(period, period.c.status.not_in(NOT_BOOKED)),
            _sum(period, period.c.status.in_(DONE)),
            _sum(period, period.c.status == BookingStatus.NO_SHOW),
        )
        .where(period.c.dealer_id != NO_DEALER)
        .group_by(period.c.dealer_id)
    )
    if scope.site_id is not None:
        query = query.where(period.c.product_id.in_(scope.product_ids))
    counts = {
        int(d): (int(n or 0), int(done or 0), int(miss or 0))
        for d, n, done, miss in session.execute(query)
    }
    counts = {d: c for d, c in counts.items() if any(c)}
    conv_query = (
        select(Conversion.dealer_id, func.count())
        .where(
            Conversion.dealer_id.is_not(None),
            Conversion.visit_at >= sql.instant(start),
            Conversion.visit_at < sql.instant(until),
        )
        .group_by(Conversion.dealer_id)
    )
    conversions = {int(d): int(n) for d, n in session.execute(conv_query) if d is not None}
    ids = set(counts) | set(conversions)
    if not ids:
        return []
    dealers = {d.id: d for d in session.scalars(select(Dealer).where(Dealer.id.in_(ids)))}
    total_drivers = sum(c[1] for c in counts.values())
    ranked = sorted(
        ids,
        key=lambda d: (
            -counts.get(d, (0, 0, 0))[1],
            -counts.get(d, (0, 0, 0))[0],
            -conversions.get(d, 0),
            dealers[d].code,
        ),
    )
    rows = []
    for rank, ident in enumerate(ranked[:limit], start=1):
        bookings, drivers, no_shows = counts.get(ident, (0, 0, 0))
        dealer = dealers[ident]
        rows.append(
            DealerRank(
                rank=rank,
                dealer=dealer.code,
                name=dealer.name,
                region=dealer.region,
                bookings=bookings,
                drivers=drivers,
                no_shows=no_shows,
                conversions=conversions.get(ident, 0),
                share_of_dealer_drivers=round(drivers / total_drivers, 4) if total_drivers else 0.0,
            )
        )
    return rows


def dealer_standing(
    session: Session,
    *,
    dealer_id: int,
    year: int | None = None,
    now: datetime | None = None,
) -> tuple[DealerRank | None, int]:
    """A dealer's own row of the leaderboard (with its rank) and how many dealers are ranked;
    nothing about the other dealers."""
    now = now or utcnow()
    scope = scope_for(session)
    year = year or now.astimezone(scope.zone).year
    start, end = year_bounds(year, scope.zone)
    until = min(max(now, start), end)
    every = leaderboard(session, scope, start, until, limit=1_000_000)
    code = session.scalar(select(Dealer.code).where(Dealer.id == dealer_id))
    session.rollback()
    return next((r for r in every if r.dealer == code), None), len(every)


def to_dict(result: KpiReport) -> dict[str, Any]:
    return asdict(result)


CSV_COLUMNS = ("kpi", "subject", "value", "target", "detail")


def to_csv(result: KpiReport) -> str:
    """One row per figure: headline KPIs, then utilisation per pool, then the leaderboard."""
    out = io.StringIO()
    writer = csv_files.writer(out)  # text neutralised against formulas, numbers kept
    writer.writerow(CSV_COLUMNS)
    d, s, c, n = result.drivers, result.dealer_share, result.conversion, result.no_show
    scope = result.site or "all"
    writer.writerows(
        [
            ("drivers_ytd", scope, d.drivers, d.target, f"year {d.year}"),
            ("drivers_forecast", scope, d.forecast, d.target, f"run rate {d.run_rate_per_day}/day"),
            ("pipeline_booked", scope, d.pipeline_booked, "", f"show rate {d.show_rate}"),
            ("dealer_share", scope, s.share, s.target, f"{s.from_dealers}/{s.test_drives}"),
            ("conversion_rate", scope, c.rate, "", f"{c.converted}/{c.prospects_drove}"),
            ("no_show_rate", scope, n.rate, "", f"{n.no_shows}/{n.expected}"),
        ]
    )
    period = f"{result.utilisation_from:%Y-%m-%d} to {result.utilisation_to:%Y-%m-%d}"
    writer.writerows(
        (
            "utilisation",
            f"{u.site}/{u.pool}",
            u.rate,
            "",
            f"{u.allocated_hours}h of {u.available_hours}h, {period}",
        )
        for u in result.utilisation
    )
    writer.writerows(
        (
            "dealer_rank",
            r.dealer,
            r.rank,
            "",
            f"drivers {r.drivers}, bookings {r.bookings}, no-shows {r.no_shows}, "
            f"conversions {r.conversions}",
        )
        for r in result.leaderboard
    )
    return out.getvalue()


def _sum(facts: Subquery, condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, facts.c.n), else_=0))


def _in(facts: Subquery, scope: KpiScope) -> ColumnElement[bool]:
    return facts.c.product_id.in_(scope.circuit_ids)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _utc_day_on_or_after(moment: datetime) -> date:
    """The first UTC day that starts at or after the instant."""
    day = moment.astimezone(UTC).date()
    return day if _midnight(day) >= moment else day + timedelta(days=1)


def _clip(
    intervals: Sequence[engine.Interval], start: datetime, end: datetime
) -> list[engine.Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]
