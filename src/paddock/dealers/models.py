"""Dealers, their allotments, invitation campaigns, codes, invitees and booking attribution."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paddock.catalog.models import Product
from paddock.db import Base, UTCDateTime, utcnow
from paddock.dealers.codes import code_key

REGIONS = ("Northeast", "Southeast", "Central", "West")


class Dealer(Base):
    """A dealership of the network; its staff are users with role `dealer` and its `id`."""

    __tablename__ = "dealer"
    __table_args__ = (
        CheckConstraint("monthly_allotment >= 0", name="allotment_not_negative"),
        Index("ix_dealer_region", "region", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # D-ATL-001
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(16))
    # The experience centre the dealer sends its guests to by default.
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Test-drive places per month when no month-specific allotment was set.
    monthly_allotment: Mapped[int] = mapped_column(Integer, default=4)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DealerAllotment(Base):
    """Test-drive places a dealer may fill at a site in one local month. The places are the
    units of their own pool (kind `dealer_allotment`, working 24/7); a booking with one of the
    dealer's codes demands one of them from the month's start to its end, so the capacity core
    and the database's overlap rule enforce the allotment like any other resource."""

    __tablename__ = "dealer_allotment"
    __table_args__ = (
        UniqueConstraint("dealer_id", "site_id", "month"),
        CheckConstraint("places >= 0", name="places_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the local month
    places: Mapped[int] = mapped_column(Integer)
    pool_id: Mapped[int] = mapped_column(ForeignKey("pool.id", ondelete="RESTRICT"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


campaign_product = Table(
    "campaign_product",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(Base):
    """A dealer's invitation campaign: which products its guests may drive and when."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("drive_to >= drive_from", name="drive_dates_ordered"),
        Index("ix_campaign_dealer", "dealer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Local days (at the product's site) on which the invited drive may take place.
    drive_from: Mapped[date] = mapped_column(Date)
    drive_to: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    products: Mapped[list[Product]] = relationship(secondary=campaign_product)


class Invitee(Base):
    """A client or prospect a dealer invited in a campaign; gets a personal code."""

    __tablename__ = "invitee"
    __table_args__ = (
        UniqueConstraint("campaign_id", "email_key"),
        Index("ix_invitee_dealer", "dealer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))  # lower-cased, for duplicates
    phone: Mapped[str] = mapped_column(String(40), default="")
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    product_code: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _key_of_code(context: Any) -> str:
    """The column default: every insert (ORM or bulk) gets the key of its code."""
    return code_key(str(context.get_current_parameters()["code"]))


class InvitationCode(Base):
    """A code a guest books with. Shared codes serve many guests up to `max_uses` (none: no
    limit but the allotment); a personal code is bound to one invitee and sent as a link."""

    __tablename__ = "invitation_code"
    __table_args__ = (
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        # The last line of defence: concurrent uses can never push a code past its limit.
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_max"),
        CheckConstraint("kind IN ('shared', 'personal')", name="kind_known"),
        Index("ix_invitation_code_dealer", "dealer_id", "id"),
        Index("ix_invitation_code_campaign", "campaign_id", "id"),
        Index("uq_invitation_code_code_key", "code_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # as shown: upper, no spaces
    # What any typing of the code comes to (dealers/codes.py `code_key`): looked up by, and
    # unique, so no two codes differ only by dashes, case or look-alike characters.
    code_key: Mapped[str] = mapped_column(String(40), default=_key_of_code, server_default="")
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="shared")
    invitee_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitee.id", ondelete="CASCADE"), unique=True
    )
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Narrower drive dates than the campaign's, if given.
    drive_from: Mapped[date | None] = mapped_column(Date)
    drive_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()


class BookingAttribution(Base):
    """The booking came through this dealer's invitation (and, for a personal code, this
    invitee). Written in the booking's own transaction, so there is no unattributed window."""

    __tablename__ = "booking_attribution"
    __table_args__ = (Index("ix_booking_attribution_dealer", "dealer_id", "booking_id"),)

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True
    )
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="RESTRICT"))
    invitation_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation_code.id", ondelete="SET NULL"), index=True
    )
    invitee_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitee.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
