"""Customer racing on the database: championships and calendars, teams, entries, chassis,
results, the versioned support standard, the grid policy, requests, decisions and the support
delivered at each event.

Support resources are not here: they are capacity pools of the shared core (a motorsport
site's `Pool`s and `Unit`s, with `Block`s for leave and other commitments); `SupportPool`
only adds the region a pool serves. An accepted entry holds `Allocation`s on those units
(engagement_kind "motorsport_entry"), like a booking.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paddock.capacity.models import Pool
from paddock.db import Base, JSONDocument, UTCDateTime, utcnow
from paddock.motorsport.engine.standard import FreightRules


class Championship(Base):
    """A series (FIA WEC, IMSA WeatherTech). Its value weight and customer-car cap are
    editable policy: a null cap means the grid policy's default."""

    __tablename__ = "championship"
    __table_args__ = (
        CheckConstraint("strategic_weight >= 0", name="weight_positive"),
        CheckConstraint("max_customer_cars IS NULL OR max_customer_cars >= 0", name="cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    strategic_weight: Mapped[int] = mapped_column(Integer, default=1)
    max_customer_cars: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")

    seasons: Mapped[list[Season]] = relationship(
        back_populates="championship", order_by="Season.year"
    )


class Season(Base):
    __tablename__ = "season"
    __table_args__ = (UniqueConstraint("championship_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    championship_id: Mapped[int] = mapped_column(
        ForeignKey("championship.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    # Where the calendar came from: builtin, csv, ics or manual.
    calendar_source: Mapped[str] = mapped_column(String(16), default="builtin")
    calendar_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    championship: Mapped[Championship] = relationship(back_populates="seasons")
    events: Mapped[list[RaceEvent]] = relationship(
        back_populates="season", order_by="RaceEvent.race_start_date"
    )


class RaceEvent(Base):
    """A round or an official test. The race week runs from `setup_days` before the first race
    day to `travel_days` after the last; `flyaway` null means "overseas from the team's base"."""

    __tablename__ = "race_event"
    __table_args__ = (
        CheckConstraint("race_end_date >= race_start_date", name="dates_ordered"),
        CheckConstraint("setup_days >= 0 AND travel_days >= 0", name="days_positive"),
        Index("ix_race_event_season_start", "season_id", "race_start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("season.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(120), unique=True)
    round_name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(80), default="")
    venue: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(80))
    region: Mapped[str] = mapped_column(String(40))
    race_start_date: Mapped[date] = mapped_column(Date)
    race_end_date: Mapped[date] = mapped_column(Date)
    setup_days: Mapped[int] = mapped_column(SmallInteger, default=4)
    travel_days: Mapped[int] = mapped_column(SmallInteger, default=0)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    flyaway: Mapped[bool | None] = mapped_column(Boolean)

    season: Mapped[Season] = relationship(back_populates="events")


class CustomerTeam(Base):
    """A customer team; `priority` weighs its requests when a set is decided (editable)."""

    __tablename__ = "customer_team"
    __table_args__ = (CheckConstraint("priority >= 0", name="priority_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(80), default="")
    base_region: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer, default=1)
    notes: Mapped[str] = mapped_column(Text, default="")


class Chassis(Base):
    """A delivered car (by chassis serial); `spare` marks a car bought as a spare."""

    __tablename__ = "chassis"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_team.id", ondelete="SET NULL"), index=True
    )
    delivered_on: Mapped[date | None] = mapped_column(Date)
    spare: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")

    team: Mapped[CustomerTeam | None] = relationship()


class SupportStandard(Base):
    """One version of the support standard. Versions are never edited: an edit is a new row;
    a decision keeps the version it used."""

    __tablename__ = "support_standard"
    __table_args__ = (
        CheckConstraint(
            "freight_lead_days >= 0 AND freight_return_days >= 0 AND freight_transit_days >= 0",
            name="freight_days_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    freight_lead_days: Mapped[int] = mapped_column(SmallInteger, default=21)
    freight_return_days: Mapped[int] = mapped_column(SmallInteger, default=21)
    freight_transit_days: Mapped[int] = mapped_column(SmallInteger, default=10)
    freight_chaining: Mapped[bool] = mapped_column(Boolean, default=True)
    support_tests: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")

    lines: Mapped[list[SupportStandardLine]] = relationship(
        back_populates="standard",
        cascade="all, delete-orphan",
        order_by="SupportStandardLine.position",
    )

    @property
    def freight(self) -> FreightRules:
        """The freight columns as the engine's rules."""
        return FreightRules(
            lead_days=self.freight_lead_days,
            return_days=self.freight_return_days,
            transit_days=self.freight_transit_days,
            chaining=self.freight_chaining,
        )


class SupportStandardLine(Base):
    """What a team's cars need of one resource kind (see standard.DemandLine)."""

    __tablename__ = "support_standard_line"
    __table_args__ = (
        UniqueConstraint("standard_id", "position"),
        CheckConstraint(
            "first_car >= 0 AND per_additional_car >= 0 AND per_spare_car >= 0 "
            "AND per_additional_car <= first_car",
            name="quantities",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(
        ForeignKey("support_standard.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(32))
    first_car: Mapped[int] = mapped_column(SmallInteger)
    per_additional_car: Mapped[int] = mapped_column(SmallInteger)
    per_spare_car: Mapped[int] = mapped_column(SmallInteger, default=0)
    scope: Mapped[str] = mapped_column(String(16))
    applies_at: Mapped[str] = mapped_column(String(16))
    pool_basis: Mapped[str] = mapped_column(String(16))

    standard: Mapped[SupportStandard] = relationship(back_populates="lines")


class GridPolicy(Base):
    """One row: the default customer-car cap per series (per-series caps on Championship) and
    the results bonuses of the value weights."""

    __tablename__ = "grid_policy"
    __table_args__ = (
        CheckConstraint(
            "default_max_cars >= 0 AND win_bonus >= 0 AND podium_bonus >= 0", name="positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    default_max_cars: Mapped[int] = mapped_column(Integer, default=2)
    win_bonus: Mapped[int] = mapped_column(Integer, default=3)
    podium_bonus: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120), default="")


class SupportPool(Base):
    """Marks a capacity pool as a support resource and names the region it serves (null: the
    pool serves every region, e.g. factory-based specialists, freight kits)."""

    __tablename__ = "support_pool"

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pool.id", ondelete="CASCADE"), unique=True)
    region: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")

    pool: Mapped[Pool] = relationship()


class SupportDecision(Base):
    """A recorded decision: who, when, why, on which standard and policy, against which
    capacity (snapshot), and the evaluation or set decision as data."""

    __tablename__ = "support_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int | None] = mapped_column(
        ForeignKey("season.id", ondelete="SET NULL"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(120))
    rationale: Mapped[str] = mapped_column(Text, default="")
    standard_id: Mapped[int] = mapped_column(
        ForeignKey("support_standard.id", ondelete="RESTRICT"), index=True
    )
    policy: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    capacity_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)

    standard: Mapped[SupportStandard] = relationship()


class SupportRequest(Base):
    """A team asks for support for one more car (new team, additional car, spare car)."""

    __tablename__ = "support_request"
    __table_args__ = (
        CheckConstraint("kind IN ('new_team', 'additional_car', 'spare_car')", name="kind_known"),
        CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'withdrawn')", name="status_known"
        ),
        Index("ix_support_request_season_status", "season_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("customer_team.id", ondelete="RESTRICT"))
    season_id: Mapped[int] = mapped_column(ForeignKey("season.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    base_region: Mapped[str] = mapped_column(String(40))
    car_number: Mapped[str | None] = mapped_column(String(8))
    received_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_decision.id", ondelete="SET NULL"), index=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The evaluation's reasons in plain words at the time of the decision.
    reasons: Mapped[list[str]] = mapped_column(JSONDocument, default=list)

    team: Mapped[CustomerTeam] = relationship()
    season: Mapped[Season] = relationship()


class TeamEntry(Base):
    """A customer car entered for a season: a race car (with its number) or a spare."""

    __tablename__ = "team_entry"
    __table_args__ = (
        UniqueConstraint("season_id", "car_number"),
        CheckConstraint("status IN ('entered', 'withdrawn')", name="status_known"),
        Index("ix_team_entry_season_status", "season_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("customer_team.id", ondelete="RESTRICT"), index=True
    )
    season_id: Mapped[int] = mapped_column(ForeignKey("season.id", ondelete="RESTRICT"))
    car_number: Mapped[str | None] = mapped_column(String(8))
    spare: Mapped[bool] = mapped_column(Boolean, default=False)
    base_region: Mapped[str] = mapped_column(String(40))
    chassis_id: Mapped[int | None] = mapped_column(
        ForeignKey("chassis.id", ondelete="SET NULL"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_request.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="entered")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[CustomerTeam] = relationship()
    season: Mapped[Season] = relationship()
    chassis: Mapped[Chassis | None] = relationship()


class RaceResult(Base):
    """An entry's classified finish at an event (position in its class; null if not
    classified)."""

    __tablename__ = "race_result"
    __table_args__ = (
        UniqueConstraint("entry_id", "event_id"),
        CheckConstraint("position IS NULL OR position >= 1", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("team_entry.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(
        ForeignKey("race_event.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[TeamEntry] = relationship()
    event: Mapped[RaceEvent] = relationship()


class SupportDelivery(Base):
    """Support delivered to an entry at an event, for one resource kind, against what the
    standard promised: the service level's raw data."""

    __tablename__ = "support_delivery"
    __table_args__ = (
        UniqueConstraint("entry_id", "event_id", "kind"),
        CheckConstraint("promised >= 0 AND delivered >= 0", name="counts_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("team_entry.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(
        ForeignKey("race_event.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    promised: Mapped[int] = mapped_column(SmallInteger)
    delivered: Mapped[int] = mapped_column(SmallInteger)
    on_time: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(120), default="")
