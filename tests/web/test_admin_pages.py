"""The admin pages through the TestClient: only centre admins open them; users are opened,
reset (a temporary password shown once, which signs in) and deactivated; a dealer is added and
given a month's places; a price is set in Decimal with its currency; a site's year one and
hours are saved; bad input answers a readable message and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, time

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.models import User
from paddock.capacity.models import Site, SiteHours
from paddock.catalog.models import Product
from paddock.dealers.models import Dealer
from tests.factories import World
from tests.web.conftest import SignIn, csrf_from

PASSWORD = re.compile(r'<code id="temporary-password">([^<]+)</code>')


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@pytest.mark.parametrize("role", ["operations", "coach", "dealer", "motorsport"])
def test_only_admins_open_the_admin_pages(
    web: TestClient, sign_in: SignIn, db: Session, role: str
) -> None:
    if role == "dealer":
        db.add(Dealer(code="D-ATL-001", name="A", city="A", state="GA", region="Southeast"))
        db.commit()
        accounts.create_user(
            db,
            email="dealer@example.com",
            role="dealer",
            password="x" * 12,
            password_hash="x",
            dealer_code="D-ATL-001",
        )
    if role != "dealer":
        sign_in(role)
    for path in ("/admin", "/admin/users", "/admin/dealers", "/admin/products", "/admin/sites"):
        if role == "dealer":
            assert web.get(path).status_code == 303  # not signed in: to the sign-in page
        else:
            assert web.get(path).status_code == 403, path


def test_open_reset_and_deactivate_a_user(web: TestClient, sign_in: SignIn, db: Session) -> None:
    sign_in("admin")
    page = web.get("/admin/users")
    assert page.status_code == 200 and "admin@example.com" in page.text
    assert 'aria-current="page">Admin' in page.text
    opened = web.post(
        "/admin/users",
        data={
            "email": "Cora@Centre.example",
            "role": "coach",
            "name": "Cora",
            "csrf_token": csrf_from(web, "/admin/users"),
        },
    )
    assert opened.status_code == 200 and opened.headers["cache-control"] == "no-store"
    first = PASSWORD.findall(opened.text)[0]
    cora = db.scalar(select(User).where(User.email == "cora@centre.example"))
    assert cora is not None and cora.role == "coach"
    assert accounts.login(db, email="cora@centre.example", password=first) is not None
    reset = web.post(
        f"/admin/users/{cora.id}/reset", data={"csrf_token": csrf_from(web, "/admin/users")}
    )
    second = PASSWORD.findall(reset.text)[0]
    assert second != first and "Their sessions have ended" in reset.text
    assert accounts.login(db, email="cora@centre.example", password=second) is not None
    gone = web.post(
        f"/admin/users/{cora.id}/deactivate", data={"csrf_token": csrf_from(web, "/admin/users")}
    )
    assert gone.status_code == 303
    db.rollback()  # a new read: the page's write is seen
    db.expire_all()
    assert db.scalar(select(User.active).where(User.id == cora.id)) is False
    assert "is deactivated" in web.get("/admin/users").text


def test_a_bad_account_is_refused_and_nothing_is_written(
    web: TestClient, sign_in: SignIn, db: Session
) -> None:
    sign_in("admin")
    count = len(accounts.list_users(db))
    refused = web.post(
        "/admin/users",
        data={
            "email": "staff@centre.example",
            "role": "dealer",
            "csrf_token": csrf_from(web, "/admin/users"),
        },
    )
    assert refused.status_code == 422
    assert "Dealer staff belong to a dealer" in refused.text
    assert 'value="staff@centre.example"' in refused.text  # the form kept
    assert len(accounts.list_users(db)) == count
    assert (
        web.post(
            "/admin/users/999999/reset", data={"csrf_token": csrf_from(web, "/admin/users")}
        ).status_code
        == 303
    )
    assert "No user with id 999999" in web.get("/admin/users").text


def test_add_a_dealer_and_set_its_places(web: TestClient, sign_in: SignIn, db: Session) -> None:
    sign_in("admin")
    token = csrf_from(web, "/admin/dealers")
    added = web.post(
        "/admin/dealers",
        data={
            "code": "d-tst-001",
            "name": "Test Motors",
            "city": "Testville",
            "state": "ga",
            "region": "Southeast",
            "home_site": "TST",
            "monthly_allotment": "6",
            "csrf_token": token,
        },
    )
    assert added.status_code == 303 and added.headers["location"] == "/admin/dealers/D-TST-001"
    page = web.get("/admin/dealers/D-TST-001")
    assert page.status_code == 200 and "Test Motors" in page.text
    month = f"{date.today():%Y-%m}"
    set_ = web.post(
        "/admin/dealers/D-TST-001/places",
        data={"site": "TST", "month": month, "places": "3", "csrf_token": token},
    )
    assert set_.status_code == 303
    shown = web.get("/admin/dealers/D-TST-001").text
    assert "has 3 place(s) at TST" in shown
    bad = web.post(
        "/admin/dealers/D-TST-001/places",
        data={"site": "TST", "month": "June", "places": "3", "csrf_token": token},
    )
    assert bad.status_code == 303
    assert "is not a month" in web.get("/admin/dealers/D-TST-001").text
    assert "Test Motors" in web.get("/admin/dealers?q=test").text


def test_set_a_price_in_decimal(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    sign_in("admin")
    token = csrf_from(web, "/admin/products")
    saved = web.post(
        "/admin/products/drive/price",
        data={"amount": "1,199.50", "currency": "usd", "active": "true", "csrf_token": token},
    )
    assert saved.status_code == 303
    assert "1199.50 USD, on sale" in web.get("/admin/products").text
    db.rollback()  # a new read: the page's write is seen
    db.expire_all()
    drive = db.scalar(select(Product).where(Product.code == "drive"))
    assert drive is not None and (drive.price_cents, drive.currency) == (119_950, "USD")
    finer = web.post(
        "/admin/products/drive/price",
        data={"amount": "10.005", "currency": "USD", "active": "true", "csrf_token": token},
    )
    assert finer.status_code == 303
    assert "finer than the currency" in web.get("/admin/products").text
    db.rollback()  # a new read: the page's write is seen
    db.expire_all()
    assert db.scalar(select(Product.price_cents).where(Product.code == "drive")) == 119_950


def test_a_sites_year_one_and_hours(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    sign_in("admin")
    token = csrf_from(web, "/admin/sites")
    saved = web.post(
        "/admin/sites/TST/year-one",
        data={
            "opens_on": "2031-05-14",
            "drivers_target": "12,000",
            "dealer_share": "12.5",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    assert "opens 14 May 2031" in web.get("/admin/sites?site=TST").text
    db.rollback()  # a new read: the page's write is seen
    db.expire_all()
    site = db.get(Site, world.site.id)
    assert site is not None
    assert (site.opens_on, site.drivers_target, site.dealer_share_target_bp) == (
        date(2031, 5, 14),
        12_000,
        1250,
    )
    week = {f"opens_{d}": "09:00" for d in range(7)} | {f"closes_{d}": "17:30" for d in range(7)}
    hours = web.post("/admin/sites/TST/hours", data={**week, "closed_6": "1", "csrf_token": token})
    assert hours.status_code == 303
    db.rollback()  # a new read: the page's write is seen
    db.expire_all()
    rows = db.scalars(select(SiteHours).where(SiteHours.site_id == world.site.id)).all()
    assert sorted((h.weekday, h.opens_at, h.closes_at) for h in rows) == [
        (d, time(9), time(17, 30)) for d in range(6)
    ]
    backwards = web.post(
        "/admin/sites/TST/hours",
        data={**week, "closes_0": "08:00", "csrf_token": token},
    )
    assert backwards.status_code == 303
    assert "Monday: closing must come after opening" in web.get("/admin/sites").text
    db.rollback()  # a new read: the page's write is seen
    db.expire_all()
    assert len(db.scalars(select(SiteHours).where(SiteHours.site_id == world.site.id)).all()) == 6
