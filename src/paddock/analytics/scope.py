"""What every KPI query shares: the targets and the statuses that count, which products count
as what (`KpiScope`, with the site's own targets and opening day), the period (a year of
operation from the opening day, or a calendar year where none is set, in the site's zone,
seen at a moment), the UTC days of the rollup and the aggregate over its cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Subquery, case, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock.bookings.models import BookingStatus
from paddock.capacity import engine
from paddock.capacity.models import Pool, Site, SiteKind
from paddock.catalog.models import Product, ProductDemand
from paddock.errors import Invalid, NotFound

# BRIEF (plan of 2012, press): "20,000 people drive on the circuit in the first year" and
# "15% of those test drives come directly from the dealer network's clients". The defaults
# where no site sets its own (`Site.drivers_target`, `Site.dealer_share_target_bp`).
DRIVERS_TARGET = 20_000
DEALER_SHARE_TARGET = 0.15
BASIS_POINTS = 10_000
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
    # The site's year-one targets (all sites: the sum of theirs, the share weighted by them)
    # and its opening day (all sites: the first to open; None: calendar years).
    drivers_target: int = DRIVERS_TARGET
    dealer_share_target: float = DEALER_SHARE_TARGET
    opens_on: date | None = None


@dataclass(frozen=True)
class Period:
    """A year of operation from the opening day (its anniversary in `year`), or the calendar
    `year` where no opening day is set, in the site's zone, seen at `now`."""

    year: int
    start: datetime
    end: datetime
    now: datetime
    number: int | None = None  # 1: year one (None: a calendar year)

    @property
    def label(self) -> str:
        if self.number is None:
            return str(self.year)
        opened = self.start.date()
        return f"Year {self.number} (from {opened:%-d %b %Y})"

    @property
    def until(self) -> datetime:
        """Now, kept within the year: the end of what has happened."""
        return min(max(self.now, self.start), self.end)

    @property
    def current(self) -> bool:
        return self.start <= self.now < self.end

    @property
    def last_day(self) -> date:
        """The UTC day of now (or of the year's end): recent figures run up to it, exclusive."""
        return min(self.now, self.end).astimezone(UTC).date()


def scope_for(session: Session, *, site_code: str | None = None) -> KpiScope:
    """Which products count as what, for one experience centre or all (a few small queries),
    with the targets and the opening day."""
    centres = session.scalars(
        select(Site).where(Site.kind == SiteKind.EXPERIENCE).order_by(Site.id)
    ).all()
    site = None
    if site_code:
        site = session.scalar(select(Site).where(Site.code == site_code))
        if site is None:
            raise NotFound(f"No site with code '{site_code}'.")
        if site.kind != SiteKind.EXPERIENCE:
            raise Invalid(f"Site '{site_code}' is not an experience centre: it has no KPIs.")
    else:
        site = centres[0] if centres else None
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
    drivers_target, share_target, opens_on = _targets(
        [site] if site_id is not None and site is not None else centres
    )
    return KpiScope(
        site_id=site_id,
        site_code=site_code,
        zone=zone,
        product_ids=ids,
        circuit_ids=tuple(i for i in ids if i in circuit),
        driving_ids=tuple(sorted(i for i, category in rows if category == "driving")),
        drivers_target=drivers_target,
        dealer_share_target=share_target,
        opens_on=opens_on,
    )


def _targets(sites: Sequence[Site]) -> tuple[int, float, date | None]:
    """The sites' targets together: drivers summed, the dealer share weighted by them; the
    brief's where none is set. The first opening day."""
    drivers = [s.drivers_target for s in sites if s.drivers_target is not None]
    shares = [
        (s.drivers_target or DRIVERS_TARGET, s.dealer_share_target_bp)
        for s in sites
        if s.dealer_share_target_bp is not None
    ]
    weight = sum(t for t, _ in shares)
    opening = [s.opens_on for s in sites if s.opens_on is not None]
    return (
        sum(drivers) if drivers else DRIVERS_TARGET,
        round(sum(t * bp for t, bp in shares) / weight / BASIS_POINTS, 4)
        if weight
        else DEALER_SHARE_TARGET,
        min(opening) if opening else None,
    )


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(date(year, 1, 1), time(), tzinfo=zone),
        datetime.combine(date(year + 1, 1, 1), time(), tzinfo=zone),
    )


def anniversary(opened: date, year: int) -> date:
    try:
        return opened.replace(year=year)
    except ValueError:  # 29 February
        return date(year, 2, 28)


def period_of(scope: KpiScope, year: int | None, now: datetime) -> Period:
    """The year of operation that begins in `year` (default: the one now is in; year one
    before the opening), or the calendar year where the scope sets no opening day."""
    opened = scope.opens_on
    today = now.astimezone(scope.zone).date()
    if opened is None:
        year = year or today.year
        return Period(year, *year_bounds(year, scope.zone), now)
    if year is None:
        year = today.year if today >= anniversary(opened, today.year) else today.year - 1
        year = max(year, opened.year)
    if year < opened.year:
        raise Invalid(f"The first year of operation begins on {opened:%-d %B %Y}.")
    start = datetime.combine(anniversary(opened, year), time(), tzinfo=scope.zone)
    end = datetime.combine(anniversary(opened, year + 1), time(), tzinfo=scope.zone)
    return Period(year, start, end, now, number=year - opened.year + 1)


def check_utilisation_days(day_from: date, day_to: date) -> None:
    if day_to <= day_from:
        raise Invalid("The utilisation period must end after it starts.")
    if (day_to - day_from).days > MAX_UTILISATION_DAYS:
        raise Invalid(f"Ask for utilisation over at most {MAX_UTILISATION_DAYS} days.")


def serial_reads(session: Session) -> None:
    """KPI reads aggregate a few tens of thousands of rollup rows: on PostgreSQL, parallel
    workers cost more to start than they save, so this read transaction does without."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def sum_where(facts: Subquery, condition: ColumnElement[bool]) -> ColumnElement[int]:
    """The bookings of the cells that meet the condition."""
    return func.sum(case((condition, facts.c.n), else_=0))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def whole_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The whole UTC days [first, last) within [start, end): what the rollup answers; the
    partial days at both ends are read from the bookings."""
    day = start.astimezone(UTC).date()
    first = day if midnight(day) >= start else day + timedelta(days=1)
    return first, end.astimezone(UTC).date()


def clip(
    intervals: Sequence[engine.Interval], start: datetime, end: datetime
) -> list[engine.Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if e > start and s < end]
