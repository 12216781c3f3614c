from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from paddock.emails import EmailAddress
from paddock.limits import Day, DbInt, Id, Moment


class Consents(BaseModel):
    marketing_email: bool | None = None
    phone: bool | None = None
    dealer_sharing: bool | None = None

    def changes(self) -> dict[str, bool]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class PersonCreate(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    email: EmailAddress
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+() .\-]*$")
    kind: str = Field(default="prospect", pattern="^(prospect|client)$")
    dealer: str | None = Field(default=None, description="Dealer code (centre staff only)")
    consents: Consents = Field(default_factory=Consents)
    consent_source: str = Field(default="api", max_length=64)


class PersonUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=200)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+() .\-]*$")
    kind: str | None = Field(default=None, pattern="^(prospect|client)$")
    notes: str | None = Field(default=None, max_length=4000)
    dealer: str | None = Field(default=None, description="Dealer code; centre staff only")


class ConsentUpdate(Consents):
    source: str = Field(min_length=1, max_length=64, description="Where it was given: form, call…")


class ConsentRead(BaseModel):
    granted: bool
    at: datetime | None


class PersonRead(BaseModel):
    id: int
    name: str
    email: str | None
    phone: str
    kind: str
    dealer: str | None
    consents: dict[str, ConsentRead]
    created_at: datetime
    updated_at: datetime
    erased: bool


class VisitRead(BaseModel):
    ref: str
    product: str
    product_name: str
    category: str
    site: str
    starts_at: datetime
    status: str
    kind_at_visit: str
    dealer: str | None


class VehicleRead(BaseModel):
    id: int
    vin: str | None
    model: str
    year: int | None
    bought_on: date | None
    dealer: str | None
    delivery_ref: str | None


class MergeRequest(BaseModel):
    duplicate_id: Id = Field(description="The record merged into this one (it disappears)")


class MergeRead(BaseModel):
    survivor: PersonRead
    moved: dict[str, int]


class EraseRequest(BaseModel):
    confirm: bool = Field(description="Must be true: erasure cannot be undone")
    reason: str = Field(default="", max_length=500)


class SaleCreate(BaseModel):
    email: EmailAddress
    name: str = Field(min_length=2, max_length=200)
    phone: str = Field(default="", max_length=40)
    model: str = Field(min_length=1, max_length=120)
    vin: str | None = Field(default=None, max_length=17)
    year: DbInt | None = None
    sold_on: Day
    deal_ref: str = Field(min_length=1, max_length=64, description="Your own deal number")
    dealer: str | None = Field(default=None, description="Dealer code (centre staff only)")


class SaleRead(BaseModel):
    id: int
    dealer: str
    person_id: int | None = Field(
        description="The buyer; null when the buyer is another dealer's contact"
    )
    model: str
    vin: str | None
    sold_on: date
    deal_ref: str
    source: str
    converted: bool
    visit_ref: str | None = None
    days_after_visit: int | None = None


class SaleImportRead(BaseModel):
    dry_run: bool
    rows: int
    imported: int
    conversions: int


class DeliveryCreate(BaseModel):
    person_id: Id
    vin: str = Field(min_length=17, max_length=17)
    model: str = Field(min_length=1, max_length=120)
    year: DbInt | None = None
    starts_at: Moment
    dealer: str | None = Field(default=None, description="Selling dealer's code")
    product: str = Field(default="atl-delivery", max_length=64)


class DeliveryRead(BaseModel):
    booking_ref: str
    status: str
    starts_at: datetime
    ends_at: datetime
    vehicle: VehicleRead
    resources: list[str]
