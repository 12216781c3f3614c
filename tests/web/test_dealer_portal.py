"""The dealer portal through the TestClient: who may open it, that a dealer's staff never see
another dealer's data (pages, forms, exports), campaigns, codes, invitees and the CSV import
with its dry-run report, CSRF and the forms' errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.service import Scope
from paddock.bookings import service as bookings
from paddock.dealers import service as dealers
from paddock.dealers.models import Campaign, InvitationCode, Invitee
from tests.factories import World
from tests.web.conftest import PASSWORD, SignIn, csrf_from, local, tomorrow

STAFF = Scope.everything("test")


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@dataclass
class Network:
    mine: str  # dealer codes
    other: str
    my_campaign: int
    other_campaign: int
    other_ref: str  # a booking of the other dealer
    my_ref: str


@pytest.fixture
def network(db: Session, world: World) -> Network:
    for code, name, city in (
        ("D-NYC-001", "Hudson Motors", "New York"),
        ("D-ATL-002", "Peach State Cars", "Atlanta"),
    ):
        dealers.create_dealer(
            db,
            code=code,
            name=name,
            city=city,
            state="NY" if city == "New York" else "GA",
            region="Northeast" if city == "New York" else "Southeast",
            home_site="TST",
            monthly_allotment=3,
        )
    campaigns = {}
    refs = {}
    for hour, code in ((10, "D-NYC-001"), (13, "D-ATL-002")):
        campaign = dealers.create_campaign(
            db,
            scope=STAFF,
            dealer_code=code,
            name=f"Spring drive {code}",
            products=["drive"],
            drive_from=tomorrow(),
            drive_to=tomorrow() + timedelta(days=20),
        )
        shared = dealers.create_code(
            db, scope=STAFF, campaign_id=campaign.id, code=f"SPRING-{code[2:5]}-K47", max_uses=5
        )
        dealers.add_invitee(
            db,
            scope=STAFF,
            campaign_id=campaign.id,
            name=f"Invitee of {code}",
            email=f"invitee.{code.lower()}@example.com",
        )
        refs[code] = dealers.book_with_code(
            db,
            code=shared.code,
            product_code="drive",
            starts_at=local(tomorrow(), hour),
            guest=bookings.Guest(f"Guest of {code}", f"guest.{code.lower()}@example.com"),
        ).booking.ref
        campaigns[code] = campaign.id
    for email, code in (
        ("staff@hudson.example", "D-NYC-001"),
        ("staff@peach.example", "D-ATL-002"),
    ):
        accounts.create_user(db, email=email, role="dealer", password=PASSWORD, dealer_code=code)
    return Network(
        "D-NYC-001",
        "D-ATL-002",
        campaigns["D-NYC-001"],
        campaigns["D-ATL-002"],
        refs["D-ATL-002"],
        refs["D-NYC-001"],
    )


def dealer_sign_in(web: TestClient, email: str = "staff@hudson.example") -> None:
    response = web.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_from(web)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/dealer"


def token(web: TestClient, path: str = "/dealer/campaigns") -> str:
    return csrf_from(web, path)


# --- Who may open it ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dealer", "/dealer/campaigns", "/dealer/bookings"])
def test_signed_out_visitors_are_sent_to_sign_in(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize("role", ["operations", "coach", "motorsport"])
def test_other_roles_are_refused(web: TestClient, sign_in: SignIn, role: str) -> None:
    sign_in(role)
    for path in ("/dealer", "/dealer/campaigns", "/dealer/invitees"):
        response = web.get(path)
        assert response.status_code == 403, path
        assert "dealer staff" in response.text and "text/html" in response.headers["content-type"]


def test_a_dealer_sees_their_own_portal(web: TestClient, network: Network) -> None:
    dealer_sign_in(web)
    page = web.get("/dealer")
    assert page.status_code == 200
    assert "Hudson Motors" in page.text and "Peach State Cars" not in page.text
    assert network.my_ref in page.text and network.other_ref not in page.text
    assert 'type="application/json"' in page.text  # the charts' data blocks
    assert re.search(r"<script(?![^>]*\b(?:src|type=\"application/json\"))", page.text) is None
    for path in ("/dealer/campaigns", "/dealer/bookings", "/dealer/invitees"):
        assert web.get(path).status_code == 200, path
    nav = web.get("/dealer").text
    assert 'href="/dealer"' in nav and 'href="/ops"' not in nav


def test_admins_choose_a_dealer(web: TestClient, sign_in: SignIn, network: Network) -> None:
    sign_in("admin")
    chooser = web.get("/dealer?q=peach")
    assert chooser.status_code == 200 and "Choose a dealer" in chooser.text
    assert "Peach State Cars" in chooser.text and "Hudson Motors" not in chooser.text
    portal = web.get(f"/dealer?dealer={network.other}")
    assert portal.status_code == 200 and "Peach State Cars" in portal.text
    assert f"/dealer/campaigns?dealer={network.other}" in portal.text  # links keep the dealer
    bookings_page = web.get(f"/dealer/bookings?dealer={network.other}")
    assert network.other_ref in bookings_page.text and network.my_ref not in bookings_page.text
    assert web.get("/dealer/bookings").status_code == 422  # no dealer chosen
    # An admin's portal of one dealer never shows another's campaign.
    assert (
        web.get(f"/dealer/campaigns/{network.my_campaign}?dealer={network.other}").status_code
        == 404
    )


# --- Never another dealer's data ---------------------------------------------------------------


def test_another_dealers_data_is_not_found(web: TestClient, db: Session, network: Network) -> None:
    dealer_sign_in(web)
    assert web.get(f"/dealer?dealer={network.other}").status_code == 404
    assert web.get(f"/dealer/bookings?dealer={network.other}").status_code == 404
    assert web.get(f"/dealer/campaigns/{network.other_campaign}").status_code == 404
    assert web.get(f"/dealer/campaigns/{network.other_campaign}/import").status_code == 404
    assert web.get(f"/dealer/bookings?campaign={network.other_campaign}").status_code == 404
    bookings_page = web.get("/dealer/bookings")
    assert network.my_ref in bookings_page.text and network.other_ref not in bookings_page.text
    csv = web.get("/dealer/bookings.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert network.my_ref in csv.text and network.other_ref not in csv.text
    invitees = web.get("/dealer/invitees?q=invitee")
    assert "Invitee of D-NYC-001" in invitees.text and "Invitee of D-ATL-002" not in invitees.text
    campaigns = web.get("/dealer/campaigns")
    assert "Spring drive D-NYC-001" in campaigns.text and "D-ATL-002" not in campaigns.text
    # Writes into the other dealer's campaign are refused and change nothing.
    codes_before = db.scalar(select(func.count()).select_from(InvitationCode))
    csrf = token(web)
    for path, data in (
        (f"/dealer/campaigns/{network.other_campaign}/codes", {"usage": "single"}),
        (f"/dealer/campaigns/{network.other_campaign}/invitees", {"name": "X", "email": "x@e.com"}),
        (f"/dealer/campaigns/{network.other_campaign}/codes/SPRING-ATL-K47/revoke", {}),
        (f"/dealer/campaigns/{network.other_campaign}/archive", {}),
    ):
        assert web.post(path, data={**data, "csrf_token": csrf}).status_code == 404, path
    db.rollback()
    assert db.scalar(select(func.count()).select_from(InvitationCode)) == codes_before
    other = db.get(Campaign, network.other_campaign)
    assert other is not None and other.archived_at is None
    revoked = db.scalar(select(InvitationCode).where(InvitationCode.code == "SPRING-ATL-K47"))
    assert revoked is not None and revoked.revoked_at is None


# --- Campaigns and codes -----------------------------------------------------------------------


def test_create_a_campaign_and_its_errors(web: TestClient, db: Session, network: Network) -> None:
    dealer_sign_in(web)
    csrf = token(web)
    empty = web.post(
        "/dealer/campaigns",
        data={"csrf_token": csrf, "name": "", "drive_from": "soon", "drive_to": ""},
    )
    assert empty.status_code == 422
    assert "Enter a name." in empty.text and "Enter a date like" in empty.text
    assert "Choose at least one experience" in empty.text and 'aria-invalid="true"' in empty.text
    backwards = web.post(
        "/dealer/campaigns",
        data={
            "csrf_token": csrf,
            "name": "Autumn",
            "products": "drive",
            "drive_from": (tomorrow() + timedelta(days=5)).isoformat(),
            "drive_to": tomorrow().isoformat(),
        },
    )
    assert backwards.status_code == 422 and "must not be before" in backwards.text
    assert 'value="Autumn"' in backwards.text  # what was typed is kept
    made = web.post(
        "/dealer/campaigns",
        data={
            "csrf_token": csrf,
            "name": "Autumn drive",
            "products": "drive",
            "drive_from": tomorrow().isoformat(),
            "drive_to": (tomorrow() + timedelta(days=30)).isoformat(),
        },
    )
    assert made.status_code == 303
    campaign = db.scalar(select(Campaign).where(Campaign.name == "Autumn drive"))
    assert campaign is not None and [p.code for p in campaign.products] == ["drive"]
    assert campaign.created_by == "user:staff@hudson.example"
    assert made.headers["location"] == f"/dealer/campaigns/{campaign.id}"
    page = web.get(made.headers["location"])
    assert "Campaign “Autumn drive” created" in page.text


def test_forms_without_their_token_are_refused(
    web: TestClient, db: Session, network: Network
) -> None:
    dealer_sign_in(web)
    before = db.scalar(select(func.count()).select_from(Campaign))
    refused = web.post(
        "/dealer/campaigns",
        data={"name": "No token", "products": "drive", "drive_from": "2031-01-01"},
    )
    assert refused.status_code == 403 and "security token" in refused.text
    forged = web.post(
        f"/dealer/campaigns/{network.my_campaign}/codes",
        data={"usage": "single", "csrf_token": "forged"},
    )
    assert forged.status_code == 403
    assert db.scalar(select(func.count()).select_from(Campaign)) == before


def test_codes_single_multi_unlimited_expiry(
    web: TestClient, db: Session, network: Network
) -> None:
    dealer_sign_in(web)
    path = f"/dealer/campaigns/{network.my_campaign}"
    csrf = token(web, path)
    bad = web.post(f"{path}/codes", data={"csrf_token": csrf, "code": "VIP!", "usage": "single"})
    assert bad.status_code == 422 and "letters, digits and dashes" in bad.text
    single = web.post(
        f"{path}/codes", data={"csrf_token": csrf, "code": "VIP-ONE-K47", "usage": "single"}
    )
    assert single.status_code == 303
    multi_missing = web.post(f"{path}/codes", data={"csrf_token": csrf, "usage": "multi"})
    assert multi_missing.status_code == 422 and "Say how many guests" in multi_missing.text
    multi = web.post(
        f"{path}/codes",
        data={
            "csrf_token": csrf,
            "code": "FRIENDS-10-K47",
            "usage": "multi",
            "max_uses": "10",
            "expires_on": (tomorrow() + timedelta(days=7)).isoformat(),
        },
    )
    assert multi.status_code == 303
    unlimited = web.post(
        f"{path}/codes", data={"csrf_token": csrf, "code": "OPEN-DOOR-K47", "usage": "unlimited"}
    )
    assert unlimited.status_code == 303
    taken = web.post(
        f"{path}/codes", data={"csrf_token": csrf, "code": "VIP-ONE-K47", "usage": "single"}
    )
    assert taken.status_code == 409 and "is taken" in taken.text
    outside = web.post(
        f"{path}/codes",
        data={
            "csrf_token": csrf,
            "code": "LATE",
            "usage": "single",
            "drive_to": (tomorrow() + timedelta(days=90)).isoformat(),
        },
    )
    assert outside.status_code == 422 and "within its campaign" in outside.text
    rows = {
        c.code: c for c in db.scalars(select(InvitationCode).where(InvitationCode.kind == "shared"))
    }
    assert rows["VIP-ONE-K47"].max_uses == 1 and rows["FRIENDS-10-K47"].max_uses == 10
    assert rows["OPEN-DOOR-K47"].max_uses is None and rows["FRIENDS-10-K47"].expires_at is not None
    assert "LATE" not in rows
    page = web.get(path)
    assert "/invite/FRIENDS-10-K47" in page.text and "0 of 10" in page.text
    revoke = web.post(f"{path}/codes/VIP-ONE-K47/revoke", data={"csrf_token": csrf})
    assert revoke.status_code == 303
    db.rollback()
    assert db.scalar(select(InvitationCode).where(InvitationCode.code == "VIP-ONE-K47")).revoked_at


def test_invite_one_person(web: TestClient, db: Session, network: Network) -> None:
    dealer_sign_in(web)
    path = f"/dealer/campaigns/{network.my_campaign}"
    csrf = token(web, path)
    bad = web.post(f"{path}/invitees", data={"csrf_token": csrf, "name": "Ada", "email": "ada-at"})
    assert bad.status_code == 422 and "e-mail" in bad.text.lower()
    ok = web.post(
        f"{path}/invitees",
        data={
            "csrf_token": csrf,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "consent": "yes",
        },
    )
    assert ok.status_code == 303
    again = web.post(
        f"{path}/invitees", data={"csrf_token": csrf, "name": "Ada L", "email": "ADA@example.com"}
    )
    assert again.status_code == 409 and "already invited" in again.text
    invitee = db.scalar(select(Invitee).where(Invitee.email_key == "ada@example.com"))
    assert invitee is not None and invitee.consent_marketing
    assert "Ada Lovelace" in web.get(path).text


# --- CSV import -------------------------------------------------------------------------------


def test_import_checks_then_commits(web: TestClient, db: Session, network: Network) -> None:
    dealer_sign_in(web)
    path = f"/dealer/campaigns/{network.my_campaign}/import"
    csrf = token(web, path)
    text = (
        "name,email,phone,consent\n"
        "Grace Hopper,grace@example.com,,yes\n"
        "No Mail,,,\n"
        "Grace Again,GRACE@example.com,,\n"
        "Alan Turing,alan@example.com,,no\n"
    )
    count = lambda: db.scalar(  # noqa: E731
        select(func.count()).select_from(Invitee).where(Invitee.campaign_id == network.my_campaign)
    )
    before = count()
    missing = web.post(path, data={"csrf_token": csrf}, files={"file": ("", b"", "text/csv")})
    assert missing.status_code == 422 and "Choose a CSV file" in missing.text
    checked = web.post(
        path, data={"csrf_token": csrf}, files={"file": ("guests.csv", text.encode(), "text/csv")}
    )
    assert checked.status_code == 200
    assert "Check of guests.csv" in checked.text and "Rejected rows" in checked.text
    assert "duplicate of line 2" in checked.text
    assert "Import the 2 acceptable row(s)" in checked.text
    db.rollback()
    assert count() == before  # a check writes nothing
    payload = re.search(r'name="payload" value="([^"]+)"', checked.text)
    assert payload
    # Without accept_partial a file with rejected rows is refused whole.
    refused = web.post(
        f"{path}/commit", data={"csrf_token": csrf, "payload": payload[1], "filename": "g.csv"}
    )
    assert refused.status_code == 422 and "nothing was imported" in refused.text
    db.rollback()
    assert count() == before
    done = web.post(
        f"{path}/commit",
        data={"csrf_token": csrf, "payload": payload[1], "accept_partial": "yes"},
    )
    assert done.status_code == 303
    db.rollback()
    assert count() == before + 2
    assert "Imported 2 invitee(s)" in web.get(done.headers["location"].split("#")[0]).text
    broken = web.post(f"{path}/commit", data={"csrf_token": csrf, "payload": "%%%"})
    assert broken.status_code == 422 and "upload it again" in broken.text
    bad_header = web.post(
        path, data={"csrf_token": csrf}, files={"file": ("x.csv", b"who,what\n1,2\n", "text/csv")}
    )
    assert bad_header.status_code == 422 and "lacks column" in bad_header.text


def test_bookings_show_visits_and_filters(web: TestClient, db: Session, network: Network) -> None:
    dealer_sign_in(web)
    page = web.get("/dealer/bookings?status=confirmed")
    assert page.status_code == 200 and network.my_ref in page.text
    assert "Guest of D-NYC-001" in page.text and "SPRING-NYC-K47" in page.text
    assert network.my_ref not in web.get("/dealer/bookings?status=completed").text
    assert web.get("/dealer/bookings?status=nonsense").status_code == 422
    overview = web.get("/dealer").text
    assert "Places this month" in overview and "Rank among dealers" in overview
