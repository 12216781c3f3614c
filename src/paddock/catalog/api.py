"""Catalogue and availability as JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from paddock.catalog import service
from paddock.catalog.schemas import (
    AvailabilityRead,
    ProductRead,
    SiteRead,
    slot_answers,
)
from paddock.db import utcnow
from paddock.http import SessionDep
from paddock.limits import Day

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


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
        ProductRead.from_product(p)
        for p in service.list_products(session, site_code=site, include_private=include_private)
    ]


@router.get("/products/{code}", response_model=ProductRead)
def get_product(code: str, session: SessionDep) -> ProductRead:
    return ProductRead.from_product(service.get_product(session, code=code), with_demands=True)


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
