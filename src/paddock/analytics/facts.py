"""Bookings counted over a period: whole UTC days from the per-day rollup that database
triggers keep exact (`paddock.rollup`), the partial days at the period's edges from the
bookings themselves. No query reads a period's bookings row by row, so the cost does not grow
with the number of bookings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Subquery, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock.analytics import sql
from paddock.analytics.scope import KpiScope, midnight, next_month, whole_days
from paddock.bookings.models import Booking
from paddock.crm.models import BookingPerson
from paddock.dealers.models import BookingAttribution
from paddock.rollup.models import (
    NO_DEALER,
    NOT_LINKED,
    KpiBookingDay,
    KpiBookingDelta,
    KpiBookingMonth,
)


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
    first, last = whole_days(start, until)
    parts: list[Select[*tuple[Any, ...]]] = []
    edges: list[tuple[datetime, datetime]] = []
    if first < last:
        months, day_ranges = rollup_ranges(first, last, months=not by_dealer)
        if months is not None:
            m = KpiBookingMonth
            parts.append(
                select(m.product_id, m.status, m.attributed.label("dealer_id"), m.kind, m.n).where(
                    m.month >= months[0], m.month < months[1]
                )
            )
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
        edges = [(start, midnight(first)), (midnight(last), until)]
    else:
        edges = [(start, until)]
    b, a, p = Booking, BookingAttribution, BookingPerson
    ranges = starting_within(edges)
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


def rollup_ranges(
    first: date, last: date, *, months: bool
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The whole months within the whole UTC days [first, last) (if `months` and there are
    any: the rollup's month rows answer them), and the day ranges around them."""
    month_from = first if first.day == 1 else next_month(first)
    month_to = last.replace(day=1)
    if months and month_from < month_to:
        return (month_from, month_to), [(first, month_from), (month_to, last)]
    return None, [(first, last)]


def starting_within(edges: Sequence[tuple[datetime, datetime]]) -> list[ColumnElement[bool]]:
    """A condition per non-empty range [lo, hi): the booking starts within it."""
    b = Booking
    return [
        and_(b.starts_at >= sql.instant(lo), b.starts_at < sql.instant(hi))
        for lo, hi in edges
        if lo < hi
    ]
