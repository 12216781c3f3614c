from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from paddock.money import Amount, Currency


class SiteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    city: str
    time_zone: str
    description: str


class DemandRead(BaseModel):
    pool: str
    pool_name: str
    quantity: int
    offset_minutes: int
    duration_minutes: int


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
    demands: list[DemandRead] | None = None


class ShortfallRead(BaseModel):
    pool: str
    pool_name: str
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
