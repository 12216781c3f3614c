"""The admin's use cases on SQLite and PostgreSQL: a site's year one and opening hours, a
product's price (Decimal and currency), a temporary password; bad input changes nothing."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts import temporary
from paddock.accounts.errors import BadCredentials
from paddock.audit.models import AuditEntry
from paddock.capacity import sites
from paddock.capacity.models import Site, SiteHours, SiteKind
from paddock.catalog import pricing
from paddock.catalog.models import Product
from paddock.errors import Invalid, NotFound
from tests.factories import make_world


def test_year_one_is_saved_and_audited(session: Session) -> None:
    world = make_world(session)
    settings = sites.YearOne(date(2031, 5, 14), 12_000, sites.parse_percent("12.5 %"))
    sites.set_year_one(session, site_code="tst", settings=settings, actor="admin")
    session.expire_all()
    site = session.get_one(Site, world.site.id)
    assert (site.opens_on, site.drivers_target, site.dealer_share_target_bp) == (
        date(2031, 5, 14),
        12_000,
        1250,
    )
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.subject_kind == "site"))
    assert "year-one-set" in list(actions)
    with pytest.raises(Invalid, match="from 0 to 100"):
        sites.parse_percent("150")
    with pytest.raises(Invalid, match="drivers target"):
        sites.set_year_one(
            session, site_code="TST", settings=sites.YearOne(None, 0, None), actor="admin"
        )
    session.add(Site(code="MSP", name="Support", time_zone="UTC", kind=SiteKind.MOTORSPORT))
    session.commit()
    with pytest.raises(Invalid, match="not an experience centre"):
        sites.set_year_one(session, site_code="MSP", settings=settings, actor="admin")
    session.expire_all()
    assert session.get_one(Site, world.site.id).drivers_target == 12_000


def test_hours_replace_the_week(session: Session) -> None:
    world = make_world(session)
    week: dict[int, sites.DayHours] = dict.fromkeys(range(5), (time(9), time(17)))
    week |= {5: (time(10), time(0)), 6: None}  # Saturday until midnight, Sunday closed
    sites.set_hours(session, site_code="TST", hours=week, actor="admin")
    session.expire_all()
    rows = session.scalars(select(SiteHours).where(SiteHours.site_id == world.site.id)).all()
    assert sorted((h.weekday, h.opens_at, h.closes_at) for h in rows) == [
        *((d, time(9), time(17)) for d in range(5)),
        (5, time(10), time(0)),
    ]
    with pytest.raises(Invalid, match="every weekday"):
        sites.set_hours(session, site_code="TST", hours={0: None}, actor="admin")
    with pytest.raises(NotFound):
        sites.set_hours(session, site_code="XYZ", hours=week, actor="admin")


def test_a_price_is_exact(session: Session) -> None:
    make_world(session)
    made = pricing.set_price(
        session,
        product_code="drive",
        amount=pricing.parse_amount("1,199.50"),
        currency="usd",
        active=False,
        actor="admin",
    )
    assert (made.price_cents, made.currency, made.active) == (119_950, "USD", False)
    assert pricing.parse_amount(" 600 ") == Decimal("600")
    with pytest.raises(Invalid, match="finer than the currency"):
        pricing.set_price(
            session, product_code="drive", amount=Decimal("1.5"), currency="JPY", actor="a"
        )
    with pytest.raises(Invalid, match="ISO 4217"):
        pricing.set_price(
            session, product_code="drive", amount=Decimal("1"), currency="dollars", actor="a"
        )
    with pytest.raises(Invalid, match="not an amount"):
        pricing.parse_amount("1e-")
    session.expire_all()
    price = session.scalar(select(Product.price_cents).where(Product.code == "drive"))
    assert price == 119_950
    assert [p.code for p in pricing.all_products(session)] == ["drive", "sim"]


def test_temporary_passwords(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    opened = temporary.open_account(
        session, email="Coach@Centre.example", role="coach", actor="admin"
    )
    assert len(opened.password) >= accounts.MIN_PASSWORD
    assert accounts.login(session, email="coach@centre.example", password=opened.password)
    reset = temporary.reset_to_temporary(session, user_id=opened.user.id, actor="admin")
    assert reset.password != opened.password
    assert accounts.login(session, email="coach@centre.example", password=reset.password)
    with pytest.raises(BadCredentials):
        accounts.login(session, email="coach@centre.example", password=opened.password)
    with pytest.raises(NotFound):
        temporary.reset_to_temporary(session, user_id=999_999, actor="admin")
