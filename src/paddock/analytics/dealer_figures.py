"""The dealers' figures: the leaderboard (per dealer, attributed bookings, drivers, no-shows
and conversions), a dealer's own standing in it, and the invitation funnel (of the people a
dealer invited in a period, how many booked, drove and bought, counted once each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from paddock.analytics import sql
from paddock.analytics.facts import facts
from paddock.analytics.scope import (
    DONE,
    NOT_BOOKED,
    KpiScope,
    period_of,
    scope_for,
    serial_reads,
    sum_where,
)
from paddock.bookings.models import Booking, BookingStatus
from paddock.crm.models import Conversion
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution, Dealer, Invitee
from paddock.rollup.models import NO_DEALER


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
            sum_where(period, period.c.status.not_in(NOT_BOOKED)),
            sum_where(period, period.c.status.in_(DONE)),
            sum_where(period, period.c.status == BookingStatus.NO_SHOW),
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
    scope = scope_for(session)
    period = period_of(scope, year, now or utcnow())
    every = leaderboard(session, scope, period.start, period.until, limit=1_000_000)
    code = session.scalar(select(Dealer.code).where(Dealer.id == dealer_id))
    return next((r for r in every if r.dealer == code), None), len(every)


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
    return Funnel(invited, booked_n, drove, bought)
