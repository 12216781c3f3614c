from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from paddock.catalog.schemas import SlotRead
from paddock.limits import Day, Moment
from paddock.money import Amount, Currency


class DealerCreate(BaseModel):
    code: str = Field(pattern=r"^D-[A-Z]{2,4}-\d{3}$", examples=["D-ATL-001"])
    name: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=2, max_length=2)
    region: str = Field(examples=["Southeast"])
    home_site: str | None = Field(default=None, description="Site code, e.g. ATL")
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    monthly_allotment: int = Field(default=4, ge=0, le=1000)


class DealerRead(BaseModel):
    code: str
    name: str
    city: str
    state: str
    region: str
    home_site: str | None
    email: str
    phone: str
    monthly_allotment: int = Field(description="Default test-drive places per month")
    active: bool


class AllotmentRead(BaseModel):
    dealer: str
    site: str
    month: str = Field(examples=["2026-12"])
    places: int
    used: int
    remaining: int


class AllotmentSet(BaseModel):
    places: int = Field(ge=0, le=1000)


class CampaignCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    products: list[str] = Field(min_length=1, max_length=50)
    drive_from: Day
    drive_to: Day
    dealer: str | None = Field(default=None, description="Dealer code (centre staff only)")


class CampaignRead(BaseModel):
    id: int
    dealer: str
    name: str
    description: str
    products: list[str]
    drive_from: date
    drive_to: date
    created_by: str
    created_at: datetime
    archived_at: datetime | None
    codes: int
    invitees: int
    bookings: int


class CodeCreate(BaseModel):
    code: str | None = Field(
        default=None, max_length=60, description="Your own code; generated when absent"
    )
    max_uses: int | None = Field(
        default=1, ge=1, le=100_000, description="1 = single use; null = only the allotment"
    )
    expires_at: Moment | None = None
    drive_from: Day | None = None
    drive_to: Day | None = None


class CodeRead(BaseModel):
    code: str
    kind: str
    campaign_id: int
    invitee_id: int | None
    max_uses: int | None
    uses: int
    expires_at: datetime | None
    drive_from: date | None
    drive_to: date | None
    created_at: datetime
    revoked_at: datetime | None
    link: str


class InviteeCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    phone: str = Field(default="", max_length=40)
    consent_marketing: bool = False
    product: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=2000)


class InviteeRead(BaseModel):
    id: int
    campaign_id: int
    name: str
    email: str
    phone: str
    consent_marketing: bool
    product: str
    note: str
    source: str
    created_at: datetime
    code: str
    link: str
    bookings: int


class ImportRowRead(BaseModel):
    line: int
    name: str
    email: str
    accepted: bool
    reasons: list[str]
    code: str


class ImportReportRead(BaseModel):
    campaign_id: int
    committed: bool
    accepted: int
    rejected: int
    written: int
    warnings: list[str]
    rows: list[ImportRowRead]


class InvitationDealer(BaseModel):
    code: str
    name: str
    city: str
    state: str


class InvitationProductRead(BaseModel):
    code: str
    name: str
    site: str
    duration_minutes: int
    price: Amount = Field(
        description='The drive\'s price in `currency`, exact: a decimal string such as "149.00"'
    )
    currency: Currency


class InvitationRead(BaseModel):
    code: str
    kind: str
    dealer: InvitationDealer
    campaign: str
    products: list[InvitationProductRead]
    drive_from: date
    drive_to: date
    expires_at: datetime | None
    uses_left: int | None
    invitee_name: str = Field(description="For a personal invitation: whom it is for")


class InvitationAvailabilityRead(BaseModel):
    code: str
    product: str
    time_zone: str
    date_from: date
    date_to: date
    places_left: dict[str, int] = Field(description="Dealer places still free per month")
    slots: list[SlotRead]


class AttributedBookingRead(BaseModel):
    ref: str
    status: str
    product: str
    starts_at: datetime
    ends_at: datetime
    guest_name: str
    guest_email: str
    dealer: str
    campaign_id: int | None
    campaign: str
    code: str
    invitee: str
    created_at: datetime


class DealerSummaryRead(BaseModel):
    dealer: DealerRead
    campaigns: int
    invitees: int
    bookings: int
    drove: int
    bookings_by_status: dict[str, int]
    places: list[AllotmentRead]
