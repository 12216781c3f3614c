"""Builds the demo world in an empty database: sites, fleet, coaches, products and a plausible,
deterministic history of bookings around today."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity import engine
from paddock.capacity import service as capacity
from paddock.capacity.models import (
    Allocation,
    Block,
    Pool,
    Site,
    SiteHours,
    Unit,
    UnitShift,
)
from paddock.capacity.wording import default_wording
from paddock.catalog import service as catalog
from paddock.catalog.models import Product, ProductDemand
from paddock.demo.crm import load_crm
from paddock.demo.dealers import load_dealers
from paddock.demo.motorsport import load_motorsport
from paddock.demo.world import SITES, SiteSpec, cancellation_policy
from paddock.errors import Conflict
from paddock.mail.models import MailMessage
from paddock.money import to_minor
from paddock.unit_of_work import write_transaction

FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Mia",
    "William",
    "Amelia",
    "Benjamin",
    "Harper",
    "Lucas",
    "Evelyn",
    "Henry",
    "Grace",
    "Jack",
    "Chloe",
    "Daniel",
    "Nora",
    "Samuel",
    "Lily",
    "David",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Moore",
    "Jackson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Scott",
)

Progress = Callable[[str, int, int], None]


def load(
    session: Session,
    *,
    seed: int = 2015,
    today: date | None = None,
    days_back: int = 60,
    days_ahead: int = 30,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Load the world; refuses a database that already has sites. Returns counts."""
    if session.scalar(select(func.count()).select_from(Site)):
        raise Conflict("The database already holds data; the demo loads into an empty one.")
    rng = random.Random(seed)
    today = today or datetime.now(UTC).date()
    counts: dict[str, int] = {"bookings": 0}
    with write_transaction(session):
        for spec in SITES:
            _build_site(session, spec, rng, opens_on=today - timedelta(days=days_back))
    catalog.invalidate_cache()
    with write_transaction(session):  # the bookings, and the dealer network over them
        for spec in SITES:
            site = session.scalar(select(Site).where(Site.code == spec.code))
            assert site is not None
            counts["bookings"] += _history(
                session, site, rng, today, days_back, days_ahead, progress
            )
        counts.update(load_dealers(session, rng, today))
    counts.update(load_crm(session, rng, today))  # a transaction a step, around the CRM's
    with write_transaction(session):
        counts.update(load_motorsport(session))
        # The made-up history is not announced: no mail for what the demo wrote.
        session.execute(delete(MailMessage))
    counts["units"] = session.scalar(select(func.count()).select_from(Unit)) or 0
    counts["products"] = session.scalar(select(func.count()).select_from(Product)) or 0
    counts["sites"] = len(SITES)
    return counts


def _t(text: str) -> time:
    return time.fromisoformat(text)


def _build_site(session: Session, spec: SiteSpec, rng: random.Random, *, opens_on: date) -> None:
    site = Site(
        code=spec.code,
        name=spec.name,
        city=spec.city,
        time_zone=spec.time_zone,
        description=spec.description,
        opens_on=opens_on,
        drivers_target=spec.drivers_target,
        dealer_share_target_bp=spec.dealer_share_target_bp,
        phone=spec.phone,
    )
    site.hours = [
        SiteHours(weekday=d, opens_at=_t(o), closes_at=_t(c)) for d, (o, c) in spec.hours.items()
    ]
    session.add(site)
    session.flush()
    pools = {
        p.code: Pool(
            site_id=site.id,
            code=p.code,
            kind=p.kind,
            name=p.name,
            public_name=default_wording(p.kind, p.name),
        )
        for p in spec.pools
    }
    session.add_all(pools.values())
    for pspec in spec.pools:
        for n in range(1, pspec.units + 1):
            attributes: dict[str, object] = {}
            if pspec.kind == "vehicle_model":
                attributes = {
                    "vin": _vin(rng),
                    "model": pspec.name,
                    "odometer_miles": rng.randint(800, 9000),
                }
            unit = Unit(
                site_id=site.id,
                label=f"{pspec.unit_prefix} {n:02d}",
                kind=pspec.kind,
                usage_minutes=rng.randint(0, 6000) if pspec.kind == "vehicle_model" else 0,
                attributes=attributes,
            )
            unit.pools = [pools[pspec.code]]
            session.add(unit)
    for coach in spec.coaches:
        unit = Unit(
            site_id=site.id,
            label=coach.name,
            kind="coach",
            attributes={"qualifications": list(coach.qualifications)},
        )
        unit.pools = [pools[q] for q in coach.qualifications]
        unit.shifts = [
            UnitShift(weekday=d, starts_at=_t(coach.shift[0]), ends_at=_t(coach.shift[1]))
            for d in coach.weekdays
        ]
        session.add(unit)
    for product_spec in spec.products:
        free_hours, late_fee = cancellation_policy(product_spec)
        product = Product(
            free_cancel_hours=free_hours,
            late_cancel_fee_cents=None
            if late_fee is None
            else to_minor(Decimal(late_fee), spec.currency),
            site_id=site.id,
            code=product_spec.code,
            name=product_spec.name,
            category=product_spec.category,
            description=product_spec.description,
            duration_minutes=product_spec.minutes,
            slot_step_minutes=product_spec.step,
            price_cents=to_minor(Decimal(product_spec.price), spec.currency),
            currency=spec.currency,
            public=product_spec.public,
        )
        product.demands = [
            ProductDemand(
                pool=pools[d.pool],
                quantity=d.quantity,
                offset_minutes=d.offset,
                duration_minutes=d.minutes,
            )
            for d in product_spec.demands
        ]
        session.add(product)
    session.flush()
    # A few cars in maintenance, as a real fleet always has.
    cars = session.scalars(
        select(Unit).where(Unit.site_id == site.id, Unit.kind == "vehicle_model")
    ).all()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for car in rng.sample(list(cars), k=max(1, len(cars) // 15)):
        start = now + timedelta(days=rng.randint(-3, 20))
        session.add(
            Block(
                site_id=site.id,
                unit_id=car.id,
                kind="maintenance",
                starts_at=start,
                ends_at=start + timedelta(days=rng.randint(1, 3)),
                reason="Scheduled service",
            )
        )


def _history(
    session: Session,
    site: Site,
    rng: random.Random,
    today: date,
    days_back: int,
    days_ahead: int,
    progress: Progress | None,
) -> int:
    """Bookings from `days_back` ago to `days_ahead` ahead, placed by the real allocator on an
    in-memory copy of the timelines so the invariant holds for the history too."""
    products = session.scalars(select(Product).where(Product.site_id == site.id)).all()
    plans = [catalog.product_plan(session, code=p.code) for p in products]
    clock = capacity.site_clock(session, site.id, site.time_zone)
    first = today - timedelta(days=days_back)
    last = today + timedelta(days=days_ahead)
    window = (
        datetime.combine(first, time(), tzinfo=UTC) - timedelta(days=1),
        datetime.combine(last, time(), tzinfo=UTC) + timedelta(days=2),
    )
    pool_ids = {d.pool_id for plan in plans for d in plan.demands}
    by_pool, _ = capacity.load_timelines(session, clock, pool_ids, window, window[0])
    now = datetime.now(UTC)
    weights = [
        8 if p.code.endswith("simulator-30") else 1 if p.code.endswith("delivery") else 3
        for p in plans
    ]
    bookings: list[dict[str, object]] = []
    allocations: list[tuple[int, list[engine.Pick]]] = []
    total_days = (last - first).days + 1
    for index in range(total_days):
        day = first + timedelta(days=index)
        # Busier at weekends; fuller in the past than in the future (bookings still arrive).
        per_day = rng.randint(28, 44) + (12 if day.weekday() >= 4 else 0)
        if day > today:
            per_day = int(per_day * max(0.15, 1 - (day - today).days / days_ahead))
        for _ in range(per_day):
            plan = rng.choices(plans, weights)[0]
            starts = engine.slot_grid(day, day, clock.opening, clock.zone, plan.step, plan.duration)
            if not starts:
                continue
            start = rng.choice(starts)
            picks, shortfalls = engine.choose_units(start, plan.demands, by_pool, rng=rng)
            if shortfalls:
                continue
            for pick in picks:
                for unit in by_pool[pick.demand.pool_id]:
                    if unit.unit_id == pick.unit_id:
                        unit.busy.append(engine.span(pick.starts_at, pick.ends_at))
            status = _status_for(start, now, rng)
            guest = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            created = start - timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))
            bookings.append(
                {
                    "ref": "D"
                    + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)),
                    "manage_token": f"demo-{site.code}-{len(bookings)}-{rng.getrandbits(64):x}",
                    "idempotency_key": None,
                    "request_fingerprint": None,
                    "product_id": plan.product_id,
                    "site_id": site.id,
                    "starts_at": start,
                    "ends_at": start + plan.duration,
                    "status": status,
                    "hold_expires_at": None,
                    "guest_name": guest,
                    "guest_email": _email(guest, rng),
                    "guest_phone": f"+1 404 555 {rng.randint(1000, 9999)}",
                    "notes": "",
                    "channel": "public",
                    "price_cents": plan.price_cents,
                    "currency": plan.currency,
                    "created_at": min(created, now),
                    "updated_at": min(created, now),
                    "checked_in_at": start - timedelta(minutes=20)
                    if status in (BookingStatus.COMPLETED, BookingStatus.CHECKED_IN)
                    else None,
                    "cancelled_at": created + timedelta(days=1)
                    if status == BookingStatus.CANCELLED
                    else None,
                    "cancel_reason": "Change of plans" if status == BookingStatus.CANCELLED else "",
                }
            )
            allocations.append((len(bookings) - 1, picks))
        if progress:
            progress(site.code, index + 1, total_days)
    if not bookings:
        return 0
    ids = session.scalars(insert(Booking).returning(Booking.id), bookings).all()
    rows: list[dict[str, object]] = []
    for (position, picks), booking_id in zip(allocations, ids, strict=True):
        live = bookings[position]["status"] not in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
        rows.extend(
            {
                "engagement_kind": "booking",
                "engagement_id": booking_id,
                "unit_id": p.unit_id,
                "pool_id": p.demand.pool_id,
                "starts_at": p.starts_at,
                "ends_at": p.ends_at,
                "active": live,
                "expires_at": None,
            }
            for p in picks
        )
    session.execute(insert(Allocation), rows)
    session.execute(
        insert(AuditEntry),
        [
            {
                "at": b["created_at"],
                "actor": "demo",
                "subject_kind": "booking",
                "subject_id": i,
                "action": "confirmed",
                "data": {},
            }
            for b, i in zip(bookings, ids, strict=True)
        ],
    )
    return len(bookings)


def _status_for(start: datetime, now: datetime, rng: random.Random) -> str:
    roll = rng.random()
    if start + timedelta(hours=2) < now:
        if roll < 0.06:
            return BookingStatus.CANCELLED
        if roll < 0.11:
            return BookingStatus.NO_SHOW
        return BookingStatus.COMPLETED
    if roll < 0.04:
        return BookingStatus.CANCELLED
    return BookingStatus.CONFIRMED


def _vin(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return "WP0" + "".join(rng.choice(alphabet) for _ in range(14))


def _email(name: str, rng: random.Random) -> str:
    return f"{name.lower().replace(' ', '.')}{rng.randint(1, 999)}@example.com"
