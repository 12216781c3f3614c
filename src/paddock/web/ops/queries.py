"""Reads the operations console needs and no service offers: search, a booking with what
could replace each of its units, its history. Nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings import service as bookings
from paddock.bookings.models import Booking
from paddock.capacity import service as capacity
from paddock.capacity.engine import is_free
from paddock.capacity.models import Pool, Site
from paddock.catalog import service as catalog
from paddock.catalog.models import Product
from paddock.web.guest.qr import ref_from_token

# Units a person would swap: a car with a fault, a coach off sick, a simulator rig down.
SWAPPABLE_KINDS = frozenset({"vehicle_model", "coach", "simulator"})
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class Found:
    ref: str
    guest_name: str
    guest_email: str
    status: str
    starts_at: datetime
    product: str
    site_code: str
    time_zone: str


def interpret_search(text: str, secret: str) -> tuple[str, str]:
    """What was typed or scanned: ('ref', 'PXXXXXXX') for a reference or a check-in code (a
    handheld scanner types the QR code's URL), else ('text', the text)."""
    text = text.strip()
    if "/ops/scan/" in text:
        token = text.rsplit("/ops/scan/", 1)[1].split("?", 1)[0].strip("/")
        ref = ref_from_token(secret, token)
        if ref:
            return "ref", ref
    if 6 <= len(text) <= 16 and text.isalnum():
        return "ref?", text.upper()  # a reference, unless no booking has it
    return "text", text


def search(session: Session, *, text: str, secret: str, site_id: int | None = None) -> list[Found]:
    """Bookings by reference, check-in code, guest name or e-mail; nearest to now first."""
    kind, value = interpret_search(text, secret)
    if not value:
        return []
    query = (
        select(
            Booking.ref,
            Booking.guest_name,
            Booking.guest_email,
            Booking.status,
            Booking.starts_at,
            Product.name,
            Site.code,
            Site.time_zone,
        )
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
    )
    if kind in ("ref", "ref?"):
        by_ref = session.execute(query.where(Booking.ref == value)).all()
        if by_ref or kind == "ref":
            return [Found(*row) for row in by_ref]
    pattern = f"%{value.lower()}%"
    query = query.where(
        or_(
            func.lower(Booking.guest_name).like(pattern),
            func.lower(Booking.guest_email).like(pattern),
        )
    )
    if site_id is not None:
        query = query.where(Booking.site_id == site_id)
    rows = session.execute(query.order_by(Booking.starts_at.desc()).limit(500)).all()
    now = datetime.now(tz=ZoneInfo("UTC"))
    found = [Found(*row) for row in rows]
    found.sort(key=lambda f: abs((f.starts_at - now).total_seconds()))
    return found[:SEARCH_LIMIT]


@dataclass(frozen=True)
class Option:
    unit_id: int
    label: str


@dataclass
class Held:
    resource: bookings.Resource
    pool_name: str
    kind: str
    options: list[Option] = field(default_factory=list)


@dataclass
class BookingView:
    result: bookings.BookingResult
    product: Product
    site: Site
    status: str
    held: list[Held]
    history: Sequence[AuditEntry]

    @property
    def booking(self) -> Booking:
        return self.result.booking

    @property
    def zone(self) -> str:
        return self.site.time_zone


def booking_view(session: Session, *, ref: str, now: datetime) -> BookingView:
    result = bookings.get_booking(session, ref=ref)
    product = catalog.get_product(session, code=result.product_code)
    site = product.site
    pool_ids = sorted({r.pool_id for r in result.resources})
    pools = (
        {p.id: p for p in session.scalars(select(Pool).where(Pool.id.in_(pool_ids))).all()}
        if pool_ids
        else {}
    )
    held: list[Held] = []
    clock = capacity.site_clock(session, site.id, site.time_zone)
    for resource in sorted(result.resources, key=lambda r: (r.starts_at, r.pool_id)):
        pool = pools.get(resource.pool_id)
        kind = pool.kind if pool else ""
        item = Held(resource, pool.name if pool else "?", kind)
        if kind in SWAPPABLE_KINDS and resource.ends_at > now:
            interval = (max(resource.starts_at, now), resource.ends_at)
            by_pool, _ = capacity.load_timelines(session, clock, [resource.pool_id], interval, now)
            item.options = [
                Option(u.unit_id, u.label)
                for u in by_pool.get(resource.pool_id, [])
                if u.unit_id != resource.unit_id and is_free(u, interval)
            ]
        held.append(item)
    history = bookings.history(session, ref=ref)
    return BookingView(result, product, site, result.status, held, history)


def arrivals(
    session: Session, *, site: Site, day_start: datetime, day_end: datetime
) -> list[Found]:
    """The day's bookings at a site that are expected or here, in start order."""
    rows = session.execute(
        select(
            Booking.ref,
            Booking.guest_name,
            Booking.guest_email,
            Booking.status,
            Booking.starts_at,
            Product.name,
            Site.code,
            Site.time_zone,
        )
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
        .where(
            Booking.site_id == site.id,
            Booking.starts_at >= day_start,
            Booking.starts_at < day_end,
            Booking.status.in_(("confirmed", "checked_in", "completed", "no_show")),
        )
        .order_by(Booking.starts_at, Booking.ref)
    ).all()
    return [Found(*row) for row in rows]
