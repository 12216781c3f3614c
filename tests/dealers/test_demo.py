"""The demo dealer network: deterministic, about 200 dealers, ~15% of test drives attributed,
allotments respected, demo accounts usable."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.bookings.models import Booking
from paddock.capacity.models import Allocation
from paddock.catalog.models import Product
from paddock.db import make_engine, make_session_factory
from paddock.dealers.models import BookingAttribution, Dealer, DealerAllotment, InvitationCode
from paddock.dealers.service import DEALER_CODE_PATTERN
from paddock.demo import dealers as demo_dealers
from paddock.demo import loader

TODAY = date(2026, 11, 20)


def test_demo_dealers(session: Session) -> None:
    counts = loader.load(session, seed=7, today=TODAY, days_back=8, days_ahead=3)
    assert 190 <= counts["dealers"] <= 210
    codes = session.scalars(select(Dealer.code)).all()
    assert all(DEALER_CODE_PATTERN.match(c) for c in codes) and "D-ATL-001" in codes
    regions = dict(
        session.execute(select(Dealer.region, func.count()).group_by(Dealer.region)).all()
    )
    assert set(regions) == {"Northeast", "Southeast", "Central", "West"}
    drives = session.scalar(
        select(func.count())
        .select_from(Booking)
        .join(Product, Product.id == Booking.product_id)
        .where(Product.category == "driving")
    )
    attributed = session.scalar(select(func.count()).select_from(BookingAttribution))
    assert drives and attributed
    assert 0.10 <= attributed / drives <= 0.20
    # No dealer's monthly places were exceeded, and every code's uses are within its max.
    over = session.execute(
        select(DealerAllotment.pool_id)
        .join(Allocation, Allocation.pool_id == DealerAllotment.pool_id)
        .where(Allocation.active.is_(True))
        .group_by(DealerAllotment.pool_id, DealerAllotment.places)
        .having(func.count() > DealerAllotment.places)
    ).all()
    assert over == []
    assert (
        session.scalar(
            select(func.count())
            .select_from(InvitationCode)
            .where(
                InvitationCode.max_uses.is_not(None), InvitationCode.uses > InvitationCode.max_uses
            )
        )
        == 0
    )
    # The documented demo accounts work.
    for email in ("admin@paddock.example", "ops@paddock.example", "dealer@d-atl-001.example"):
        accounts.authenticate(session, email=email, password=demo_dealers.DEMO_PASSWORD)
    principal = accounts.token_principal(session, secret=demo_dealers.DEMO_TOKEN)
    assert principal is not None and principal.dealer_id == session.scalar(
        select(Dealer.id).where(Dealer.code == "D-ATL-001")
    )


def test_demo_dealers_are_deterministic(sqlite_template: Path, tmp_path: Path) -> None:
    results = []
    for name in ("a.db", "b.db"):
        shutil.copy(sqlite_template, tmp_path / name)
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        with make_session_factory(engine)() as session:
            loader.load(session, seed=7, today=TODAY, days_back=2, days_ahead=1)
            dealers = select(Dealer.code, Dealer.name, Dealer.monthly_allotment)
            attributed = select(BookingAttribution.booking_id, BookingAttribution.dealer_id)
            results.append(
                (
                    session.execute(dealers.order_by(Dealer.id)).all(),
                    session.execute(attributed.order_by(BookingAttribution.booking_id)).all(),
                )
            )
        engine.dispose()
    assert results[0] == results[1]
