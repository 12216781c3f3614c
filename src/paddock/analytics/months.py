"""The year month by month, behind the management dashboard and the dealer portal: per month,
drivers on the circuit, test drives and those from dealers, no-shows and circuit bookings still
confirmed (the booked pipeline), from the per-day rollup plus the partial days at the year's
edges; optionally for one dealer. Months are months of the rollup's UTC days (a booking late on
a month's last evening west of UTC counts in the next month); the year's edges follow the
site's zone, so the months add up to the headline figures exactly. A year of operation from an
opening day in mid-month has twelve months from that month; the days of its last, partial
month count in the twelfth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from paddock.analytics import sql
from paddock.analytics.facts import rollup_ranges, starting_within
from paddock.analytics.scope import (
    DONE,
    KpiScope,
    midnight,
    period_of,
    scope_for,
    whole_days,
)
from paddock.bookings.models import Booking, BookingStatus
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution
from paddock.rollup.models import NO_DEALER, KpiBookingDay, KpiBookingDelta, KpiBookingMonth


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
    """The twelve months of a year (the year of operation or the calendar year, in the site's
    zone, like the KPIs)."""
    scope = scope_for(session, site_code=site_code)
    period = period_of(scope, year, now or utcnow())
    days = _booking_days(session, scope, period.start, period.end, dealer_id)
    circuit, driving = set(scope.circuit_ids), set(scope.driving_ids)
    first = period.start.date().replace(day=1)
    firsts = [next_months(first, k) for k in range(12)]
    months = {m: MonthFigures(m) for m in firsts}
    for day, product_id, status, dealer, n in session.execute(days):
        month = _month_of(_as_date(day), firsts[0], firsts[-1])
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
    return list(months.values())


def _booking_days(
    session: Session, scope: KpiScope, start: datetime, end: datetime, dealer_id: int | None
) -> Select[*tuple[Any, ...]]:
    """(UTC day, product, status, from a dealer?, count) over [start, end): whole months from
    the rollup's month rows (all dealers together: attributed or not), the other whole days
    from the day rows, deltas not compacted yet, and the partial days at both ends from the
    bookings themselves. A month row's day is the month's first."""
    dialect = session.get_bind().dialect.name
    first, last = whole_days(start, end)
    parts: list[Select[*tuple[Any, ...]]] = []
    months, day_ranges = rollup_ranges(first, last, months=dealer_id is None)
    if months is not None:
        m = KpiBookingMonth
        parts.append(
            select(
                m.month.label("day"), m.product_id, m.status, m.attributed.label("dealer_id"), m.n
            ).where(m.month >= months[0], m.month < months[1])
        )
    for table, ranges_ in ((KpiBookingDay, day_ranges), (KpiBookingDelta, [(first, last)])):
        for lo, hi in ranges_:
            if lo >= hi:
                continue
            part = select(
                table.day, table.product_id, table.status, table.dealer_id, table.n
            ).where(table.day >= lo, table.day < hi)
            if dealer_id is not None:
                part = part.where(table.dealer_id == dealer_id)
            parts.append(part)
    b, a = Booking, BookingAttribution
    ranges = starting_within([(start, midnight(first)), (midnight(last), end)])
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


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite's date() gives text


def next_months(month: date, k: int) -> date:
    index = month.year * 12 + month.month - 1 + k
    return date(index // 12, index % 12 + 1, 1)


def _month_of(day: date, first: date, last: date) -> date:
    """The month of a UTC day, kept inside the year (its first hours may be the last local
    evening of the year before, its last the first of the next)."""
    return min(max(day.replace(day=1), first), last)
