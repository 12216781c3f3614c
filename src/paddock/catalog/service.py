"""Catalogue use cases: sites, products and the availability of a product over days."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from paddock.capacity import claims
from paddock.capacity import service as capacity
from paddock.capacity.engine import Demand, Slot
from paddock.capacity.models import Site, SiteKind
from paddock.capacity.wording import public_wording
from paddock.catalog.models import Product, ProductDemand
from paddock.errors import Invalid, NotFound

MAX_AVAILABILITY_DAYS = 62


@dataclass(frozen=True)
class Availability:
    product: Product
    site: Site
    date_from: date
    date_to: date
    slots: list[Slot]


def list_sites(session: Session, *, kind: str | None = SiteKind.EXPERIENCE) -> Sequence[Site]:
    """The experience centres (what every site picker offers), or the sites of another kind
    (None: all)."""
    query = select(Site).order_by(Site.id)
    if kind is not None:
        query = query.where(Site.kind == kind)
    return session.scalars(query).all()


def get_site(session: Session, *, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise NotFound(f"No site with code '{code}'.")
    return site


def list_products(
    session: Session, *, site_code: str | None = None, include_private: bool = False
) -> Sequence[Product]:
    query = select(Product).options(selectinload(Product.site)).where(Product.active.is_(True))
    if site_code:
        query = query.where(Product.site_id == get_site(session, code=site_code).id)
    if not include_private:
        query = query.where(Product.public.is_(True))
    return session.scalars(query.order_by(Product.site_id, Product.id)).all()


def get_product(session: Session, *, code: str) -> Product:
    product = session.scalar(
        select(Product)
        .options(
            selectinload(Product.demands).selectinload(ProductDemand.pool),
            selectinload(Product.site),
        )
        .where(Product.code == code)
    )
    if product is None or not product.active:
        raise NotFound(f"No product with code '{code}'.")
    return product


def demands_of(product: Product) -> list[Demand]:
    return [
        Demand(
            pool_id=d.pool_id,
            pool_code=d.pool.code,
            pool_name=d.pool.name,
            quantity=d.quantity,
            offset=timedelta(minutes=d.offset_minutes),
            duration=timedelta(minutes=d.duration_minutes),
            public_name=public_wording(d.pool),
        )
        for d in product.demands
    ]


@dataclass(frozen=True)
class ProductPlan:
    """What the booking path needs of a product, cached briefly per process."""

    product_id: int
    code: str
    name: str
    site_id: int
    site_code: str
    time_zone: str
    duration: timedelta
    step: timedelta
    price_cents: int
    currency: str
    public: bool
    demands: tuple[Demand, ...]
    pool_ids: tuple[int, ...]  # its demands' pools, sorted (the key of their cached units)


_PLAN_SECONDS = 5.0
_plans: dict[str, tuple[ProductPlan, float]] = {}
_plans_lock = threading.Lock()


def cached_plan(code: str) -> ProductPlan | None:
    """The product's plan if the cache holds it fresh, else None (read it with a session)."""
    with _plans_lock:
        cached = _plans.get(code)
    if cached and time.monotonic() - cached[1] < _PLAN_SECONDS:
        return cached[0]
    return None


def product_plan(session: Session, *, code: str) -> ProductPlan:
    """The product's plan, from the cache or read (and cached a few seconds)."""
    cached = cached_plan(code)
    if cached is not None:
        return cached
    product = get_product(session, code=code)
    demands = tuple(demands_of(product))
    plan = ProductPlan(
        product_id=product.id,
        code=product.code,
        name=product.name,
        site_id=product.site_id,
        site_code=product.site.code,
        time_zone=product.site.time_zone,
        duration=timedelta(minutes=product.duration_minutes),
        step=timedelta(minutes=product.slot_step_minutes),
        price_cents=product.price_cents,
        currency=product.currency,
        public=product.public,
        demands=demands,
        pool_ids=claims.pool_ids(demands),
    )
    with _plans_lock:
        _plans[code] = (plan, time.monotonic())
    return plan


def invalidate_cache() -> None:
    with _plans_lock:
        _plans.clear()
    capacity.invalidate_cache()


def plan_clock(session: Session, plan: ProductPlan) -> capacity.SiteClock:
    return capacity.site_clock(session, plan.site_id, plan.time_zone)


def site_clock(session: Session, site: Site) -> capacity.SiteClock:
    return capacity.site_clock(session, site.id, site.time_zone)


def availability(
    session: Session, *, product_code: str, date_from: date, date_to: date, now: datetime
) -> Availability:
    """Every start time of the product in the site's local days [date_from, date_to], with the
    remaining count, and for full slots the pool that is short."""
    if date_to < date_from:
        raise Invalid("'to' must not be before 'from'.")
    if (date_to - date_from).days + 1 > MAX_AVAILABILITY_DAYS:
        raise Invalid(f"Ask for at most {MAX_AVAILABILITY_DAYS} days at a time.")
    # Demands, hours and units from the per-process caches; the product row itself is read
    # fresh (one query), so a product switched off is refused at once.
    plan = product_plan(session, code=product_code)
    product = session.get(Product, plan.product_id, options=[joinedload(Product.site)])
    if product is None or not product.active:
        raise NotFound(f"No product with code '{product_code}'.")
    slots = capacity.slots(
        session,
        plan_clock(session, plan),
        plan.demands,
        plan.duration,
        plan.step,
        date_from,
        date_to,
        now,
    )
    # End the read transaction promptly; a commit, unlike a rollback, leaves the product and
    # site loaded for the caller.
    session.commit()
    return Availability(product, product.site, date_from, date_to, slots)
