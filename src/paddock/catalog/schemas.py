from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from paddock.capacity.wording import public_wording
from paddock.catalog.policy import policy_of
from paddock.money import Amount, Currency, from_minor

if TYPE_CHECKING:
    from paddock.capacity.engine import Shortfall, Slot
    from paddock.catalog.models import Product


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    city: str
    time_zone: str
    description: str


class DemandRead(BaseModel):
    pool: str
    wording: str = Field(description="The pool in guests' words (never the internal name)")
    quantity: int
    offset_minutes: int
    duration_minutes: int


class CancellationRead(BaseModel):
    free_cancel_hours: int = Field(description="Free cancellation until this many hours before")
    late_fee: Amount = Field(description="Charged for a cancellation after that, in `currency`")
    currency: Currency
    summary: str = Field(description="The policy in the guest's words")

    @classmethod
    def from_product(cls, product: Product) -> CancellationRead:
        policy = policy_of(product)
        return cls(
            free_cancel_hours=policy.free_hours,
            late_fee=policy.late_fee,
            currency=policy.currency,
            summary=policy.summary(),
        )


class ProductRead(BaseModel):
    code: str
    site: str
    name: str
    category: str
    description: str
    duration_minutes: int
    slot_step_minutes: int
    price: Amount = Field(
        description='The product\'s price in `currency`, exact: a decimal string such as "149.00"'
    )
    currency: Currency
    public: bool
    cancellation: CancellationRead
    demands: list[DemandRead] | None = None

    @classmethod
    def from_product(cls, product: Product, *, with_demands: bool = False) -> ProductRead:
        return cls(
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
            cancellation=CancellationRead.from_product(product),
            demands=[
                DemandRead(
                    pool=d.pool.code,
                    wording=public_wording(d.pool),
                    quantity=d.quantity,
                    offset_minutes=d.offset_minutes,
                    duration_minutes=d.duration_minutes,
                )
                for d in product.demands
            ]
            if with_demands
            else None,
        )


class ShortfallRead(BaseModel):
    pool: str
    wording: str = Field(description="What is short, in guests' words (never the internal name)")
    needed: int
    free: int
    missing: int


class SlotRead(BaseModel):
    starts_at: datetime
    ends_at: datetime
    local_time: str
    remaining: int
    short: ShortfallRead | None = None


class AvailabilityRead(BaseModel):
    product: str
    site: str
    time_zone: str
    date_from: date
    date_to: date
    slots: list[SlotRead]


def slot_answers(slots: Sequence[Slot], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Slots as the fields of SlotRead, in its order: plain dicts, because a month is hundreds
    of slots and a model per slot costs as much as finding them (see `catalog.api.availability`)."""
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
        "wording": shortfall.public_name or "places",
        "needed": shortfall.needed,
        "free": shortfall.free,
        "missing": shortfall.missing,
    }
