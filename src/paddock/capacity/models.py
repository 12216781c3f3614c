"""Sites, pools, units, their working time and blocks, and allocations of units to engagements."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paddock.db import Base, JSONDocument, UTCDateTime, utcnow


class SiteKind:
    """An experience centre (guests book products) or the customer racing support site."""

    EXPERIENCE = "experience"
    MOTORSPORT = "motorsport"
    ALL = (EXPERIENCE, MOTORSPORT)


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    city: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(
        String(16), default=SiteKind.EXPERIENCE, server_default=SiteKind.EXPERIENCE
    )
    # Year one runs from the opening day (null: calendar years); the site's own year-one
    # targets (null: the brief's, `analytics.scope`).
    opens_on: Mapped[date | None] = mapped_column(Date)
    drivers_target: Mapped[int | None] = mapped_column(Integer)
    # Basis points of the test drives from dealers (1500: 15 %): whole numbers, no float.
    dealer_share_target_bp: Mapped[int | None] = mapped_column(Integer)
    # The front desk's number, given to guests who must call (a late cancellation).
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")

    hours: Mapped[list[SiteHours]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="SiteHours.weekday"
    )


class SiteHours(Base):
    """Opening hours in the site's local time; one row per weekday interval (0 = Monday)."""

    __tablename__ = "site_hours"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)

    site: Mapped[Site] = relationship(back_populates="hours")


pool_membership = Table(
    "pool_membership",
    Base.metadata,
    Column("pool_id", ForeignKey("pool.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Pool(Base):
    """Interchangeable units: cars of a model, coaches with a qualification, module positions."""

    __tablename__ = "pool"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))  # staff's name: "Kick plate", "GT coaches"
    # What guests read ("no <public_name> free"): never the internal name. Empty: the
    # kind's wording (capacity/wording.py).
    public_name: Mapped[str] = mapped_column(String(200), default="", server_default="")

    units: Mapped[list[Unit]] = relationship(secondary=pool_membership, back_populates="pools")


class Unit(Base):
    """One bookable resource: a car by VIN, a coach, a position on a module, a simulator rig."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("site_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Minutes of completed use: allocation prefers the least-used unit to spread wear.
    usage_minutes: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)

    pools: Mapped[list[Pool]] = relationship(secondary=pool_membership, back_populates="units")
    shifts: Mapped[list[UnitShift]] = relationship(
        back_populates="unit", cascade="all, delete-orphan"
    )


class UnitShift(Base):
    """Weekly working time of a unit in local time; a unit without shifts works the site's hours."""

    __tablename__ = "unit_shift"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)

    unit: Mapped[Unit] = relationship(back_populates="shifts")


class Block(Base):
    """Time a unit (or, with no unit, a whole site) cannot be used: maintenance, leave, closure."""

    __tablename__ = "block"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_duration"),
        Index("ix_block_unit_time", "unit_id", "starts_at"),
        Index("ix_block_site_time", "site_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Allocation(Base):
    """A unit given to an engagement for a time. Active allocations of one unit never overlap:
    PostgreSQL enforces it with an exclusion constraint (see the migration), SQLite by taking
    its write lock before the overlap check."""

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="positive_duration"),
        # Ends first: windowed reads start at the window, and the booking probe is one seek.
        Index("ix_allocation_unit_time", "unit_id", "ends_at", "starts_at"),
        Index("ix_allocation_engagement", "engagement_kind", "engagement_id"),
        # Holds that may have lapsed: few among allocations.
        Index(
            "ix_allocation_hold_expiry",
            "expires_at",
            postgresql_where=text("active AND expires_at IS NOT NULL"),
            sqlite_where=text("active AND expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What holds the unit: a booking, a dealer place, a motorsport entry...
    engagement_kind: Mapped[str] = mapped_column(String(32))
    engagement_id: Mapped[int] = mapped_column(Integer)
    # On PostgreSQL these two references are kept by delete guards, not foreign keys (whose
    # row locks on the parents every booking shares cost more than the rest of its writes):
    # see migration 0005.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="RESTRICT"))
    pool_id: Mapped[int] = mapped_column(ForeignKey("pool.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A hold's allocation lapses on its own; the clock is applied lazily by writers and a sweeper.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CoachAccount(Base):
    """The signed-in person who is a coach unit: the console shows them their own day. The
    user is named by table (accounts sits beside the capacity, not below it)."""

    __tablename__ = "coach_account"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), unique=True)
