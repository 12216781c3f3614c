from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, field_validator

from paddock.emails import EmailAddress
from paddock.limits import Moment
from paddock.money import Amount, Currency, from_minor

if TYPE_CHECKING:
    from paddock.bookings.service import BookingResult


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

    @classmethod
    def from_result(cls, result: BookingResult, *, with_token: bool = False) -> BookingRead:
        """The JSON answer for a booking the service returned (its manage token only for
        the caller who made it)."""
        b = result.booking
        return cls(
            ref=b.ref,
            status=result.status,
            product=result.product_code,
            starts_at=b.starts_at,
            ends_at=b.ends_at,
            hold_expires_at=b.hold_expires_at,
            guest=GuestRead(name=b.guest_name, email=b.guest_email, phone=b.guest_phone),
            price=from_minor(b.price_cents, b.currency),
            currency=b.currency,
            channel=b.channel,
            created_at=b.created_at,
            checked_in_at=b.checked_in_at,
            cancelled_at=b.cancelled_at,
            resources=[
                ResourceRead(
                    pool_id=r.pool_id,
                    unit_id=r.unit_id,
                    unit=r.unit_label,
                    starts_at=r.starts_at,
                    ends_at=r.ends_at,
                )
                for r in result.resources
            ],
            manage_token=b.manage_token if with_token else None,
        )


class AuditRead(BaseModel):
    at: datetime
    actor: str
    action: str
    data: dict[str, object]
