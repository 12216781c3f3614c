"""The headline KPIs against the scope's year-one targets, from the counted bookings (`facts`):
drivers on the circuit (people, their visits apart) with the forecast to the year's end, the
share of test drives from dealers, no-shows and the prospects' conversion (definitions:
`analytics.service`). A target with no data yet has no verdict (`on_track` is None)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock.analytics import sql
from paddock.analytics.facts import facts, starting_within
from paddock.analytics.scope import (
    DONE,
    PIPELINE,
    RUN_RATE_DAYS,
    SHOW_RATE_DAYS,
    KpiScope,
    midnight,
    serial_reads,
    sum_where,
    whole_days,
)
from paddock.bookings.models import Booking, BookingStatus
from paddock.crm.models import BookingPerson, Conversion, PersonKind
from paddock.rollup.models import NO_DEALER, KpiBookingDay, KpiBookingDelta


@dataclass
class DriversKpi:
    year: int
    drivers: int  # people who drove on the circuit
    visits: int  # their circuit bookings driven (one person may come back)
    target: int
    share_of_target: float
    run_rate_per_day: float  # visits
    pipeline_booked: int
    show_rate: float
    forecast: int  # people
    forecast_share_of_target: float
    on_track: bool | None  # None: no driver yet, no verdict


@dataclass
class DealerShareKpi:
    test_drives: int
    from_dealers: int
    share: float
    target: float
    on_track: bool | None  # None: no test drive yet, no verdict


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
        sum_where(year, and_(done, circuit)),
        sum_where(year, and_(done, driving)),
        sum_where(year, and_(done, driving, year.c.dealer_id != NO_DEALER)),
        sum_where(year, no_show),
        sum_where(year, or_(done, no_show)),
    )
    if scope.site_id is not None:
        query = query.where(year.c.product_id.in_(scope.product_ids))
    visits, tests, dealers, no_shows, finished = (int(v or 0) for v in session.execute(query).one())
    drivers = _people(session, scope, start, until) if visits else 0
    run_rate, show_rate = 0.0, 1.0
    booked, excess = 0, 0.0
    if now < end:
        # Whole UTC days before today: the rollup alone answers, no partial day to read live.
        today = midnight(now.astimezone(UTC).date())
        recent = facts(session, scope, today - timedelta(days=RUN_RATE_DAYS), today)
        run_rate = (
            int(
                session.scalar(
                    select(sum_where(recent, and_(recent.c.status.in_(DONE), _in(recent, scope))))
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
                    sum_where(window, and_(window.c.status.in_(DONE), _in(window, scope))),
                    sum_where(
                        window, and_(window.c.status == BookingStatus.NO_SHOW, _in(window, scope))
                    ),
                )
            ).one()
        )
        show_rate = shown / (shown + missed) if shown + missed else 1.0
        booked, excess = _pipeline(session, scope, max(now, start), end, run_rate, show_rate)
    remaining_days = max((end - max(now, start)).total_seconds(), 0) / 86400
    # Visits still to come, each a new person at the year's rate so far of people per visit.
    ahead = run_rate * remaining_days + excess if now < end else 0.0
    forecast = round(drivers + ahead * (drivers / visits if visits else 1.0))
    share = dealers / tests if tests else 0.0
    target, share_target = scope.drivers_target, scope.dealer_share_target
    return (
        DriversKpi(
            year=start.year,
            drivers=drivers,
            visits=visits,
            target=target,
            share_of_target=drivers / target if target else 0.0,
            run_rate_per_day=round(run_rate, 2),
            pipeline_booked=booked,
            show_rate=round(show_rate, 4),
            forecast=forecast,
            forecast_share_of_target=forecast / target if target else 0.0,
            on_track=forecast >= target if visits else None,
        ),
        DealerShareKpi(
            test_drives=tests,
            from_dealers=dealers,
            share=round(share, 4),
            target=share_target,
            on_track=share >= share_target if tests else None,
        ),
        NoShowKpi(
            no_shows=no_shows,
            expected=finished,
            rate=round(no_shows / finished, 4) if finished else 0.0,
        ),
    )


def _people(session: Session, scope: KpiScope, start: datetime, until: datetime) -> int:
    """The people among the circuit visits driven in [start, until): a booking's linked person,
    or, not linked yet, its guest's e-mail. Read from the bookings (a person is not a sum of
    the rollup's cells): one index range of the period's starts."""
    b, bp = Booking, BookingPerson
    who = func.coalesce(
        cast(bp.person_id, String),
        func.nullif(func.lower(b.guest_email), ""),
        literal("booking ") + cast(b.id, String),
    )
    query = (
        select(func.count(func.distinct(who)))
        .select_from(b)
        .outerjoin(bp, bp.booking_id == b.id)
        .where(
            b.starts_at >= sql.instant(start),
            b.starts_at < sql.instant(until),
            b.status.in_(DONE),
            b.product_id.in_(scope.circuit_ids),
        )
    )
    return int(session.scalar(query) or 0)


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
    first, last = whole_days(start, end)
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
    ranges = starting_within(
        [(start, min(midnight(first), end)), (max(midnight(last), start), end)]
    )
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
                sum_where(
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


def _in(facts: Subquery, scope: KpiScope) -> ColumnElement[bool]:
    return facts.c.product_id.in_(scope.circuit_ids)
