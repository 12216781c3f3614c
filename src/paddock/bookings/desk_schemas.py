"""The operations desk's JSON: a phone booking, a cancellation with a reason, a unit blocked
with its bookings moved, the day's run sheet."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator

from paddock.bookings.desk import BlockReport, RunSheet
from paddock.bookings.schemas import GuestIn
from paddock.limits import Moment


class PhoneBooking(BaseModel):
    product: str = Field(min_length=1, max_length=64)
    starts_at: Moment
    guest: GuestIn
    notes: str = Field(default="", max_length=2000)


class DeskCancel(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Why: kept on the booking")


class BlockAndMove(BaseModel):
    starts_at: Moment
    ends_at: Moment
    reason: str = Field(min_length=3, max_length=500)
    kind: str = Field(default="maintenance", max_length=32)

    @model_validator(mode="after")
    def _ordered(self) -> BlockAndMove:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class MovedRead(BaseModel):
    ref: str
    guest_name: str
    starts_at: datetime
    from_unit: str
    to_unit: str


class GuestToCallRead(BaseModel):
    ref: str
    guest_name: str
    guest_email: str
    guest_phone: str
    product: str
    starts_at: datetime
    ends_at: datetime
    unit: str


class BlockReportRead(BaseModel):
    block_id: int
    unit_id: int | None
    starts_at: datetime
    ends_at: datetime
    moved: list[MovedRead]
    to_call: list[GuestToCallRead] = Field(
        description="Bookings left on the blocked unit (no free unit of the model): call them"
    )
    other_engagements: list[str]

    @classmethod
    def from_report(cls, report: BlockReport) -> BlockReportRead:
        block = report.outcome.block
        return cls(
            block_id=block.id,
            unit_id=block.unit_id,
            starts_at=block.starts_at,
            ends_at=block.ends_at,
            moved=[MovedRead(**vars(m)) for m in report.moved],
            to_call=[GuestToCallRead(**vars(c)) for c in report.to_call],
            other_engagements=[f"{h.kind} #{h.id}" for h in report.others],
        )


class RunSheetLineRead(BaseModel):
    ref: str
    starts_at: datetime
    ends_at: datetime
    status: str
    product: str
    guest_name: str
    guest_phone: str
    guest_email: str
    channel: str
    notes: str
    units: list[str]


class RunSheetRead(BaseModel):
    site: str
    day: date
    time_zone: str
    lines: list[RunSheetLineRead]

    @classmethod
    def from_sheet(cls, sheet: RunSheet) -> RunSheetRead:
        return cls(
            site=sheet.site_code,
            day=sheet.day,
            time_zone=sheet.time_zone,
            lines=[
                RunSheetLineRead(**(vars(line) | {"units": list(line.units)}))
                for line in sheet.lines
            ],
        )
