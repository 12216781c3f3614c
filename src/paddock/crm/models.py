"""People (clients and prospects), their consents, visits, vehicles, sales and conversions.

Bookings never import this package: a booking is linked to a person afterwards, by e-mail, in
`booking_person` (see `crm.service.link_bookings`)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from paddock.bookings.models import Booking
from paddock.db import Base, UTCDateTime, utcnow


class PersonKind(enum.StrEnum):
    PROSPECT = "prospect"
    CLIENT = "client"


class ConsentPurpose(enum.StrEnum):
    MARKETING_EMAIL = "marketing_email"
    PHONE = "phone"
    DEALER_SHARING = "dealer_sharing"


# Accepted, not a preference: a guest accepts the terms with each booking (history only, no
# flag on the person).
TERMS = "terms"


class Person(Base):
    """A client or prospect. The e-mail is stored lower-cased, so its unique constraint is
    case-insensitive; it is NULL once the person is erased or merged into another."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("kind IN ('prospect', 'client')", name="kind_known"),
        Index("ix_person_dealer_id", "dealer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(16), default=PersonKind.PROSPECT)
    # The dealer this person is a contact of (who "owns" the relationship), if any.
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealer.id", ondelete="SET NULL"))
    # Current consent per purpose, with when it was last decided (history: person_consent).
    consent_marketing_email: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_marketing_email_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_phone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_dealer_sharing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_dealer_sharing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class PersonConsent(Base):
    """Every consent decision, kept as proof of when and how it was given or withdrawn."""

    __tablename__ = "person_consent"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('marketing_email', 'phone', 'dealer_sharing', 'terms')",
            name="purpose_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(64), default="")
    # The version of the wording the person saw ("terms-2026-12"), where one applies.
    version: Mapped[str] = mapped_column(String(32), default="", server_default="")


class BookingPerson(Base):
    """Which person a booking belongs to; `kind_at_visit` keeps whether they were a prospect
    when they booked, which the conversion rate needs after they have become a client."""

    __tablename__ = "booking_person"
    __table_args__ = (Index("ix_booking_person_person", "person_id", "booking_id"),)

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    kind_at_visit: Mapped[str] = mapped_column(String(16))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vehicle(Base):
    """A car a person owns (bought from a dealer); a delivered car is also a capacity unit
    (kind `customer_vehicle`) so its time on the circuit is allocated like any unit."""

    __tablename__ = "vehicle"
    __table_args__ = (
        UniqueConstraint("person_id", "vin"),
        Index("ix_vehicle_vin", "vin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    model: Mapped[str] = mapped_column(String(120))
    year: Mapped[int | None] = mapped_column(Integer)
    bought_on: Mapped[date | None] = mapped_column(Date)
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealer.id", ondelete="SET NULL"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    delivery_booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sale(Base):
    """A car sold to a person, reported by a dealer (API, CSV) or imported by the system.
    `external_ref` is the seller's own deal number: reporting it twice is refused."""

    __tablename__ = "sale"
    __table_args__ = (
        UniqueConstraint("dealer_id", "external_ref"),
        Index("ix_sale_person", "person_id", "sold_on"),
        Index("ix_sale_sold_on", "sold_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id", ondelete="SET NULL"))
    external_ref: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(120))
    vin: Mapped[str | None] = mapped_column(String(17))
    year: Mapped[int | None] = mapped_column(Integer)
    sold_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))  # api | csv | system | demo
    reported_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversion(Base):
    """A prospect who drove at the centre and bought within the conversion window: the sale is
    attributed to their last driving visit before it, and to that visit's dealer, if any."""

    __tablename__ = "conversion"
    __table_args__ = (
        Index("ix_conversion_booking", "booking_id"),
        Index("ix_conversion_dealer", "dealer_id", "converted_on"),
        Index("ix_conversion_visit_at", "visit_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id", ondelete="CASCADE"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="RESTRICT"))
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealer.id", ondelete="SET NULL"))
    visit_at: Mapped[datetime] = mapped_column(UTCDateTime)
    converted_on: Mapped[date] = mapped_column(Date)
    days_after_visit: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncCursor(Base):
    """How far a background pass (linking bookings to people) has safely got. Ids of rows still
    being written can be lower than the highest visible id, so a position becomes `safe_id`
    only after it has settled (see `crm.people.link_bookings`)."""

    __tablename__ = "crm_sync_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    safe_id: Mapped[int] = mapped_column(Integer, default=0)
    pending_id: Mapped[int] = mapped_column(Integer, default=0)
    pending_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Indexes this package's migration adds to the bookings table (declared here so the metadata
# matches the schema): people are found by e-mail whatever its case, and KPIs count bookings
# by start, product and status with an index-only range scan.
Index("ix_booking_guest_email_lower", func.lower(Booking.guest_email))
Index("ix_booking_kpi", Booking.starts_at, Booking.product_id, Booking.status)
