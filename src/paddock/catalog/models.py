"""Products and their demands on pools."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from paddock.capacity.models import Pool, Site
from paddock.db import Base


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("site_id", "code"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes % 5 = 0", name="duration_ticks"),
        CheckConstraint("slot_step_minutes > 0 AND slot_step_minutes % 5 = 0", name="step_ticks"),
        CheckConstraint("price_cents >= 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), default="driving")
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    slot_step_minutes: Mapped[int] = mapped_column(Integer, default=30)
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Guests arrive early for the classroom brief; shown on confirmations.
    arrive_early_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # The cancellation policy (catalog/policy.py): free until this many hours before the
    # start; after that not online, and the late fee is charged (NULL: the whole price).
    free_cancel_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    late_cancel_fee_cents: Mapped[int | None] = mapped_column(Integer)
    # Deliveries and dealer-only products are not sold to the public.
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    site: Mapped[Site] = relationship()
    demands: Mapped[list[ProductDemand]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductDemand.id"
    )


class ProductDemand(Base):
    __tablename__ = "product_demand"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("offset_minutes >= 0 AND offset_minutes % 5 = 0", name="offset_ticks"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes % 5 = 0", name="duration_ticks"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    pool_id: Mapped[int] = mapped_column(ForeignKey("pool.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    duration_minutes: Mapped[int] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="demands")
    pool: Mapped[Pool] = relationship()
