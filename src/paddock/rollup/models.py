"""KPI facts per UTC day, kept by the database itself.

Triggers (migration 0003) on `booking`, `booking_attribution`, `booking_person` and
`allocation` append a delta row in the same transaction as each change: +1/-1 booking in a
(day, product, status, dealer, kind) cell, or +/- allocated seconds of a unit on a day. So the
rollup is exact at every instant, and concurrent writers never touch the same row (they only
insert). `rollup.service.compact` folds the deltas into the per-day tables in the background;
readers sum both. Sentinels instead of NULL keep the keys unique: dealer 0 = no dealer,
kind '' = not linked to a person yet."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from paddock.db import Base

NO_DEALER = 0
NOT_LINKED = ""


class KpiBookingDay(Base):
    __tablename__ = "kpi_booking_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    dealer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class KpiBookingDelta(Base):
    __tablename__ = "kpi_booking_delta"
    __table_args__ = (Index("ix_kpi_booking_delta_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    dealer_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer)


class KpiUnitDay(Base):
    """Seconds a unit was allocated (active allocations) on a UTC day."""

    __tablename__ = "kpi_unit_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seconds: Mapped[int] = mapped_column(BigInteger)


class KpiUnitDelta(Base):
    __tablename__ = "kpi_unit_delta"
    __table_args__ = (Index("ix_kpi_unit_delta_day", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    unit_id: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(BigInteger)


class KpiDayNumber(Base):
    """0..1099: lets SQLite triggers split an allocation into days without a loop."""

    __tablename__ = "kpi_day_number"

    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class KpiBookingMonth(Base):
    """The day cells summed by UTC month, with the dealer reduced to attributed (1) or not (0):
    a year of KPIs reads a few thousand cells. Kept by `compact` with the day rows."""

    __tablename__ = "kpi_booking_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    attributed: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
