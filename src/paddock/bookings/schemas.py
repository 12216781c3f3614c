from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from paddock.emails import EmailAddress
from paddock.limits import Moment
from paddock.money import Amount, Currency


class GuestIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    email: EmailAddress
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+() .\-]*$")

    @field_validator("name")
    @classmethod
    def _name_has_letters(cls, value: str) -> str:
        value = " ".join(value.split())
        if not any(ch.isalpha() for ch in value):
            raise ValueError("a name needs letters")
        return value


class BookingCreate(BaseModel):
    product: str = Field(min_length=1, max_length=64)
    starts_at: Moment
    guest: GuestIn
    hold: bool = Field(
        default=False,
        description="Hold the slot for a few minutes instead of "
        "confirming at once; the guest confirms it with POST /manage/{manage_token}/confirm.",
    )
    notes: str = Field(default="", max_length=2000)


class BookingMove(BaseModel):
    starts_at: Moment


class BookingCancel(BaseModel):
    reason: str = Field(default="", max_length=500)


class ResourceRead(BaseModel):
    pool_id: int
    unit_id: int
    unit: str
    starts_at: datetime
    ends_at: datetime


class GuestRead(BaseModel):
    name: str
    email: str
    phone: str


class BookingRead(BaseModel):
    ref: str
    status: str
    product: str
    starts_at: datetime
    ends_at: datetime
    hold_expires_at: datetime | None
    guest: GuestRead
    price: Amount = Field(
        description='The booking\'s price in `currency`, exact: a decimal string such as "149.00"'
    )
    currency: Currency
    channel: str
    created_at: datetime
    checked_in_at: datetime | None
    cancelled_at: datetime | None
    resources: list[ResourceRead]
    manage_token: str | None = Field(default=None, description="Shown once, to the creator.")


class AuditRead(BaseModel):
    at: datetime
    actor: str
    action: str
    data: dict[str, object]
