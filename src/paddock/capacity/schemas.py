"""The capacity's operations surface as JSON: pools, units and their state, blocks."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from pydantic import BaseModel, Field, model_validator

from paddock.limits import Id, Moment


class BlockCreate(BaseModel):
    """A maintenance block on one unit (`unit_id`) or the closure of a whole site (`site`)."""

    unit_id: Id | None = Field(default=None, description="Block this unit")
    site: str | None = Field(default=None, description="Close this whole site (its code)")
    kind: str | None = Field(
        default=None,
        max_length=32,
        description="Unit: maintenance, repair, leave, training, other (default maintenance). "
        "Site: closure, event, weather, other (default closure).",
    )
    starts_at: Moment
    ends_at: Moment
    reason: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _one_target(self) -> BlockCreate:
        if (self.unit_id is None) == (self.site is None):
            raise ValueError("give either unit_id (a unit's block) or site (a site's closure)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class BlockUpdate(BaseModel):
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    reason: str | None = Field(default=None, min_length=3, max_length=500)


class BlockRead(BaseModel):
    id: int
    site: str
    unit_id: int | None
    unit: str | None = Field(description="The unit's label; none for a site closure")
    kind: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_at: datetime


class RetireBody(BaseModel):
    reason: str = Field(min_length=3, max_length=500, examples=["Sold at end of lease"])


class PoolRef(BaseModel):
    code: str
    name: str
    kind: str


class UnitStateRead(BaseModel):
    id: int
    label: str
    kind: str
    active: bool
    state: str = Field(
        description="Now: available, in_use, off_duty, blocked, closed (site) or retired"
    )
    usage_minutes: int
    attributes: dict[str, Any] = Field(description="A car's VIN, model, odometer...")
    pools: list[str]
    qualifications: list[str] = Field(description="A coach's qualification pools")
    engagements_today: int
    busy_minutes_today: int
    block: BlockRead | None = Field(default=None, description="The block in force now")


class PoolRead(BaseModel):
    code: str
    kind: str
    name: str = Field(description="The staff's name of the pool")
    public_name: str = Field(description="What guests read about the pool (its wording)")
    units_total: int
    units_active: int
    available_now: int
    in_use_now: int
    blocked_now: int
    units: list[UnitStateRead]


class PoolWording(BaseModel):
    public_name: str = Field(
        max_length=200, description="What guests read ('no <public_name> free'); empty: default"
    )


class PoolWordingRead(BaseModel):
    code: str
    name: str
    public_name: str


class ShiftRead(BaseModel):
    weekday: int = Field(description="0 = Monday")
    starts_at: time
    ends_at: time


class EngagementRead(BaseModel):
    kind: str
    id: int
    reference: str
    unit_id: int
    unit: str
    starts_at: datetime
    ends_at: datetime


class UnitRead(UnitStateRead):
    site: str
    pool_details: list[PoolRef]
    shifts: list[ShiftRead] = Field(description="Weekly, local time; empty: the site's hours")
    blocks: list[BlockRead] = Field(description="From now on: the unit's and its site's")
    schedule_today: list[EngagementRead]
