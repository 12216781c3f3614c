"""Catalogue and availability as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from paddock.capacity.engine import Shortfall, Slot
from paddock.catalog import service
from paddock.catalog.models import Product
from paddock.catalog.schemas import (
    AvailabilityRead,
    DemandRead,
    ProductRead,
    SiteRead,
)
from paddock.db import utcnow
from paddock.http import SessionDep
from paddock.limits import Day
from paddock.money import from_minor

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


def product_read(product: Product, *, with_demands: bool = False) -> ProductRead:
    return ProductRead(
        code=product.code,
        site=product.site.code,
        name=product.name,
        category=product.category,
        description=product.description,
        duration_minutes=product.duration_minutes,
        slot_step_minutes=product.slot_step_minutes,
        price=from_minor(product.price_cents, product.currency),
        currency=product.currency,
        public=product.public,
        demands=[
            DemandRead(
                pool=d.pool.code,
                pool_name=d.pool.name,
                quantity=d.quantity,
                offset_minutes=d.offset_minutes,
                duration_minutes=d.duration_minutes,
            )
            for d in product.demands
        ]
        if with_demands
        else None,
    )


@router.get("/sites", response_model=list[SiteRead])
def list_sites(session: SessionDep) -> list[SiteRead]:
    return [SiteRead.model_validate(s) for s in service.list_sites(session)]


@router.get("/sites/{code}", response_model=SiteRead)
def get_site(code: str, session: SessionDep) -> SiteRead:
    return SiteRead.model_validate(service.get_site(session, code=code))


@router.get("/products", response_model=list[ProductRead])
def list_products(
    session: SessionDep, site: str | None = None, include_private: bool = False
) -> list[ProductRead]:
    return [
        product_read(p)
        for p in service.list_products(session, site_code=site, include_private=include_private)
    ]


@router.get("/products/{code}", response_model=ProductRead)
def get_product(code: str, session: SessionDep) -> ProductRead:
    return product_read(service.get_product(session, code=code), with_demands=True)


@router.get("/products/{code}/availability", response_model=AvailabilityRead)
def availability(
    code: str,
    session: SessionDep,
    date_from: Annotated[Day, Query(alias="from")],
    date_to: Day | None = Query(default=None, alias="to"),
) -> Response:
    """Free start times per local day: `remaining` engagements fit; a full slot names the pool
    that is short and by how much."""
    result = service.availability(
        session,
        product_code=code,
        date_from=date_from,
        date_to=date_to or date_from + timedelta(days=29),
        now=utcnow(),
    )
    zone = ZoneInfo(result.site.time_zone)
    # Plain dicts serialised by pydantic-core (the models' own JSON for these types): a month
    # is hundreds of slots, and a model per slot plus FastAPI's pass over the response model
    # cost as much as finding them. response_model above still documents the shape.
    answer = _JSON.dump_json(
        {
            "product": result.product.code,
            "site": result.site.code,
            "time_zone": result.site.time_zone,
            "date_from": result.date_from,
            "date_to": result.date_to,
            "slots": slot_answers(result.slots, zone),
        }
    )
    return Response(answer, media_type="application/json")


_JSON: TypeAdapter[Any] = TypeAdapter(Any)


def slot_answers(slots: Sequence[Slot], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Slots as the fields of SlotRead, in its order (plain dicts: see `availability`)."""
    return [
        {
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "local_time": s.starts_at.astimezone(zone).isoformat(),
            "remaining": s.remaining,
            "short": _short(s.shortfall) if s.shortfall else None,
        }
        for s in slots
    ]


def _short(shortfall: Shortfall) -> dict[str, Any]:
    return {
        "pool": shortfall.pool_code,
        "pool_name": shortfall.pool_name,
        "needed": shortfall.needed,
        "free": shortfall.free,
        "missing": shortfall.missing,
    }
