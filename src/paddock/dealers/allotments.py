"""A dealer's monthly test-drive places at a site, as capacity.

Each (dealer, site, local month) has a pool of kind `dealer_allotment` whose units are places
working 24/7. A booking with the dealer's code demands one place from the month's first local
midnight to the next month's: a place can serve one booking per month, so the month's places
are never exceeded, and the same overlap rule (PostgreSQL exclusion constraint, SQLite write
lock) that protects cars and coaches protects them. Lowering an allotment closes free places
with allocations of their own (kind `allotment_closure`), so a race with a booking is
arbitrated by the database too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from paddock.bookings import service as bookings
from paddock.capacity import service as capacity
from paddock.capacity.engine import Demand
from paddock.capacity.models import Allocation, Pool, Site, Unit, UnitShift, pool_membership
from paddock.capacity.wording import KIND_WORDING
from paddock.db import utcnow
from paddock.dealers.models import Dealer, DealerAllotment
from paddock.errors import Conflict, Invalid, SoldOut
from paddock.limits import check_day
from paddock.unit_of_work import read_only, run_write, write_transaction

POOL_KIND = "dealer_allotment"
PLACES_WORDING = KIND_WORDING[POOL_KIND]  # guests never read the dealer's pool name
UNIT_KIND = "dealer_place"
CLOSURE = "allotment_closure"
MAX_PLACES = 1000
MIDNIGHT = time(0, 0)


@dataclass(frozen=True)
class AllotmentStatus:
    dealer_id: int
    site_id: int
    month: date
    places: int
    used: int
    pool_id: int
    pool_code: str

    @property
    def remaining(self) -> int:
        return max(self.places - self.used, 0)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_month(text: str) -> date:
    try:
        month = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError as exc:
        raise Invalid(f"'{text}' is not a month like 2026-12.") from exc
    return check_day(month, "The month")


def month_window(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local month as UTC instants: from its first midnight to the next month's."""
    start = datetime.combine(month, MIDNIGHT, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(next_month(month), MIDNIGHT, tzinfo=zone).astimezone(UTC)
    return start, end


def local_month(moment: datetime, zone: ZoneInfo) -> date:
    return first_of_month(moment.astimezone(zone).date())


def place_demand(
    status: AllotmentStatus, dealer_name: str, zone: ZoneInfo, start: datetime
) -> Demand:
    """One place of the month, relative to a booking starting at `start` (negative offset)."""
    month_start, month_end = month_window(status.month, zone)
    return Demand(
        pool_id=status.pool_id,
        pool_code=status.pool_code,
        pool_name=f"{dealer_name} test-drive places {status.month:%B %Y}",
        quantity=1,
        offset=month_start - start,
        duration=month_end - month_start,
        public_name=PLACES_WORDING,
    )


def pool_code(dealer_code: str, month: date) -> str:
    return f"dealer-{dealer_code.lower()}-{month:%Y-%m}"


def status(
    session: Session, *, dealer_id: int, site_id: int, month: date
) -> AllotmentStatus | None:
    row = session.execute(
        select(DealerAllotment, Pool.code)
        .join(Pool, Pool.id == DealerAllotment.pool_id)
        .where(
            DealerAllotment.dealer_id == dealer_id,
            DealerAllotment.site_id == site_id,
            DealerAllotment.month == month,
        )
    ).first()
    if row is None:
        return None
    allotment, code = row
    return AllotmentStatus(
        dealer_id,
        site_id,
        month,
        allotment.places,
        _used(session, allotment.pool_id, utcnow()),
        allotment.pool_id,
        code,
    )


def statuses(
    session: Session,
    *,
    dealer_ids: list[int] | None,
    month_from: date,
    month_to: date,
    site_id: int | None = None,
    now: datetime | None = None,
) -> list[AllotmentStatus]:
    """Allotments with their used places, in two queries (no query per month)."""
    now = now or utcnow()
    query = (
        select(DealerAllotment, Pool.code)
        .join(Pool, Pool.id == DealerAllotment.pool_id)
        .where(DealerAllotment.month >= month_from, DealerAllotment.month <= month_to)
    )
    if dealer_ids is not None:
        query = query.where(DealerAllotment.dealer_id.in_(dealer_ids))
    if site_id is not None:
        query = query.where(DealerAllotment.site_id == site_id)
    rows = session.execute(
        query.order_by(DealerAllotment.dealer_id, DealerAllotment.month, DealerAllotment.site_id)
    ).all()
    used = _used_by_pool(session, [a.pool_id for a, _ in rows], now)
    return [
        AllotmentStatus(
            a.dealer_id, a.site_id, a.month, a.places, used.get(a.pool_id, 0), a.pool_id, code
        )
        for a, code in rows
    ]


def ensure(session: Session, *, dealer_id: int, site_id: int, month: date) -> AllotmentStatus:
    """The month's allotment, made from the dealer's default places the first time a code is
    used in that month. Its own transaction: a concurrent first use finds the other's."""
    with read_only(session):
        found = status(session, dealer_id=dealer_id, site_id=site_id, month=month)
    if found is not None:
        return found
    try:
        with write_transaction(session):
            dealer, site = _load(session, dealer_id, site_id)
            _create(session, dealer, site, month, dealer.monthly_allotment)
    except IntegrityError:
        pass  # made by a concurrent writer meanwhile (the transaction is rolled back)
    return _status_now(session, dealer_id, site_id, month)


def set_places(
    session: Session, *, dealer_id: int, site_id: int, month: date, places: int
) -> AllotmentStatus:
    """Change a month's places. Raising adds (or reopens) places; lowering closes free places,
    and is refused below the places already booked."""
    if not 0 <= places <= MAX_PLACES:
        raise Invalid(f"An allotment is 0 to {MAX_PLACES} places.")

    def write() -> None:
        dealer, site = _load(session, dealer_id, site_id)
        zone = ZoneInfo(site.time_zone)
        allotment = session.scalar(
            select(DealerAllotment).where(
                DealerAllotment.dealer_id == dealer.id,
                DealerAllotment.site_id == site.id,
                DealerAllotment.month == month,
            )
        )
        if allotment is None:
            _create(session, dealer, site, month, places)
            return
        now = utcnow()
        used = _used(session, allotment.pool_id, now)
        if places < used:
            raise Conflict(
                f"{dealer.code} already has {used} booked place(s) in {month:%B %Y}; "
                f"the allotment cannot go below that."
            )
        units = _unit_ids(session, allotment.pool_id)
        closures = session.scalars(
            select(Allocation.id)
            .where(
                Allocation.engagement_kind == CLOSURE,
                Allocation.engagement_id == allotment.id,
                Allocation.active.is_(True),
            )
            .order_by(Allocation.id)
        ).all()
        open_places = len(units) - len(closures)
        if places > open_places:
            reopen = list(closures[: places - open_places])
            if reopen:
                session.execute(
                    update(Allocation).where(Allocation.id.in_(reopen)).values(active=False)
                )
            missing = places - open_places - len(reopen)
            if missing:
                _add_units(session, dealer, site, month, len(units), missing)
        elif places < open_places:
            start, end = month_window(month, zone)
            demand = Demand(
                allotment.pool_id, "", "", open_places - places, timedelta(0), end - start
            )
            try:
                capacity.allocate(
                    session,
                    capacity.site_clock(session, site.id, site.time_zone),
                    engagement_kind=CLOSURE,
                    engagement_id=allotment.id,
                    demands=[demand],
                    start=start,
                    now=now,
                )
            except SoldOut as exc:
                raise Conflict(
                    "Bookings took places while the allotment was being changed; try again."
                ) from exc
        allotment.places = places
        allotment.updated_at = now

    run_write(session, write)
    capacity.invalidate_cache()
    return _status_now(session, dealer_id, site_id, month)


def _status_now(session: Session, dealer_id: int, site_id: int, month: date) -> AllotmentStatus:
    """The month's allotment as just written, read in a transaction that ends here."""
    with read_only(session):
        result = status(session, dealer_id=dealer_id, site_id=site_id, month=month)
    assert result is not None
    return result


def _load(session: Session, dealer_id: int, site_id: int) -> tuple[Dealer, Site]:
    dealer = session.get(Dealer, dealer_id)
    site = session.get(Site, site_id)
    if dealer is None or site is None:
        raise Invalid("Unknown dealer or site.")
    return dealer, site


def _create(session: Session, dealer: Dealer, site: Site, month: date, places: int) -> None:
    pool = Pool(
        site_id=site.id,
        code=pool_code(dealer.code, month),
        kind=POOL_KIND,
        name=f"{dealer.name} test-drive places {month:%B %Y}",
    )
    session.add(pool)
    session.flush()
    session.add(
        DealerAllotment(
            dealer_id=dealer.id, site_id=site.id, month=month, places=places, pool_id=pool.id
        )
    )
    _add_units(session, dealer, site, month, 0, places, pool_id=pool.id)
    session.flush()


def _add_units(
    session: Session,
    dealer: Dealer,
    site: Site,
    month: date,
    existing: int,
    count: int,
    *,
    pool_id: int | None = None,
) -> None:
    if count <= 0:
        return
    if pool_id is None:
        pool_id = session.scalar(
            select(Pool.id).where(
                Pool.site_id == site.id, Pool.code == pool_code(dealer.code, month)
            )
        )
    ids = session.scalars(
        insert(Unit).returning(Unit.id, sort_by_parameter_order=True),
        [
            {
                "site_id": site.id,
                "label": f"{dealer.code} {month:%Y-%m} place {n:03d}",
                "kind": UNIT_KIND,
                "active": True,
                "usage_minutes": 0,
                "attributes": {"dealer": dealer.code, "month": f"{month:%Y-%m}"},
            }
            for n in range(existing + 1, existing + count + 1)
        ],
    ).all()
    session.execute(insert(pool_membership), [{"pool_id": pool_id, "unit_id": u} for u in ids])
    # Midnight to midnight every day: the merged working time is one stretch over the month.
    session.execute(
        insert(UnitShift),
        [
            {"unit_id": u, "weekday": d, "starts_at": MIDNIGHT, "ends_at": MIDNIGHT}
            for u in ids
            for d in range(7)
        ],
    )


def _unit_ids(session: Session, pool_id: int) -> list[int]:
    return list(
        session.scalars(
            select(pool_membership.c.unit_id)
            .where(pool_membership.c.pool_id == pool_id)
            .order_by(pool_membership.c.unit_id)
        ).all()
    )


def _live_booking_places(now: datetime) -> ColumnElement[bool]:
    return and_(
        Allocation.engagement_kind == bookings.ENGAGEMENT,
        Allocation.active.is_(True),
        (Allocation.expires_at.is_(None)) | (Allocation.expires_at > now),
    )


def _used(session: Session, pool_id: int, now: datetime) -> int:
    return _used_by_pool(session, [pool_id], now).get(pool_id, 0)


def _used_by_pool(session: Session, pool_ids: list[int], now: datetime) -> dict[int, int]:
    if not pool_ids:
        return {}
    rows = session.execute(
        select(Allocation.pool_id, func.count())
        .where(Allocation.pool_id.in_(pool_ids), _live_booking_places(now))
        .group_by(Allocation.pool_id)
    )
    return {int(p): int(n) for p, n in rows}
