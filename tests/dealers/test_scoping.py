"""Every dealer-scoped endpoint refuses another dealer's data: 403 or 404, and nothing of it
shows in lists, exports, searches or counts. Checked for a dealer's signed-in staff and for
its API token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.bookings import service as bookings
from paddock.dealers import service
from tests.dealers.conftest import STAFF, make_dealer_world, scope_of
from tests.factories import MONDAY, at

PASSWORD = "correct horse battery"


@dataclass
class Two:
    north_headers: dict[str, str]
    north_token_headers: dict[str, str]
    coach_headers: dict[str, str]
    south_campaign: int
    north_campaign: int
    south_code: str
    south_token_id: int
    south_invitee: str


def _cookie(session: Session, email: str) -> dict[str, str]:
    sign_in = accounts.login(session, email=email, password=PASSWORD)
    return {"Cookie": f"paddock_session={sign_in.token}"}


@pytest.fixture
def two(session: Session) -> Two:
    dw = make_dealer_world(session)
    south_campaign = service.create_campaign(
        session,
        scope=scope_of(dw.south),
        name="Southern drive",
        products=["drive"],
        drive_from=MONDAY,
        drive_to=MONDAY + timedelta(days=20),
    )
    for campaign, dealer, guest in (
        (dw.campaign, dw.north, "Nora North"),
        (south_campaign, dw.south, "Zed Southerly"),
    ):
        row = service.add_invitee(
            session,
            scope=scope_of(dealer),
            campaign_id=campaign.id,
            name=guest,
            email=f"{guest.split()[0].lower()}@example.com",
        )
        service.book_with_code(
            session,
            code=row.code,
            product_code="drive",
            starts_at=at(MONDAY, 10 if dealer is dw.north else 12),
            guest=bookings.Guest(guest, row.invitee.email),
            now=at(MONDAY, 7) - timedelta(days=1),
        )
    south_code = service.create_code(
        session, scope=scope_of(dw.south), campaign_id=south_campaign.id, code="SOUTH-ONLY-K47"
    )
    accounts.create_user(
        session,
        email="staff@north.example",
        role="dealer",
        dealer_code=dw.north.code,
        password=PASSWORD,
    )
    accounts.create_user(
        session,
        email="staff@south.example",
        role="dealer",
        dealer_code=dw.south.code,
        password=PASSWORD,
    )
    accounts.create_user(session, email="coach@paddock.example", role="coach", password=PASSWORD)
    north_token = accounts.create_token(session, dealer_id=dw.north.id, name="DMS", actor="t")
    south_token = accounts.create_token(session, dealer_id=dw.south.id, name="DMS", actor="t")
    return Two(
        north_headers=_cookie(session, "staff@north.example"),
        north_token_headers={"Authorization": f"Bearer {north_token.secret}"},
        coach_headers=_cookie(session, "coach@paddock.example"),
        south_campaign=south_campaign.id,
        north_campaign=dw.campaign.id,
        south_code=south_code.code,
        south_token_id=south_token.token.id,
        south_invitee="Zed Southerly",
    )


def _refusals(two: Two) -> list[tuple[str, str, object]]:
    s, code = two.south_campaign, two.south_code
    csv_body = "name,email\nEve Intruder,eve.intruder@example.com\n"
    return [
        ("GET", "/api/v1/dealers/D-ATL-002", None),
        ("GET", "/api/v1/dealers/D-ATL-002/summary", None),
        ("GET", "/api/v1/dealers/D-ATL-002/allotments", None),
        ("PUT", "/api/v1/dealers/D-ATL-002/allotments/TST/2031-06", {"places": 50}),
        ("PUT", "/api/v1/dealers/D-NYC-001/allotments/TST/2031-06", {"places": 50}),
        ("GET", "/api/v1/dealers/D-ATL-002/bookings", None),
        ("GET", "/api/v1/dealers/D-ATL-002/bookings.csv", None),
        ("GET", "/api/v1/campaigns?dealer=D-ATL-002", None),
        (
            "POST",
            "/api/v1/campaigns",
            {
                "name": "x",
                "products": ["drive"],
                "dealer": "D-ATL-002",
                "drive_from": str(MONDAY),
                "drive_to": str(MONDAY),
            },
        ),
        ("GET", f"/api/v1/campaigns/{s}", None),
        ("GET", f"/api/v1/campaigns/{s}/codes", None),
        ("POST", f"/api/v1/campaigns/{s}/codes", {"code": "STOLEN-1-K47"}),
        ("POST", f"/api/v1/campaigns/{s}/codes/{code}/revoke", None),
        ("GET", f"/api/v1/campaigns/{s}/invitees", None),
        ("POST", f"/api/v1/campaigns/{s}/invitees", {"name": "Eve I", "email": "eve@example.com"}),
        ("POST", f"/api/v1/campaigns/{s}/invitees/import?commit=true", csv_body),
        ("GET", f"/api/v1/campaigns/{s}/invitees.csv", None),
        ("GET", f"/api/v1/dealers/D-NYC-001/bookings?campaign_id={s}", None),
        ("DELETE", f"/api/v1/tokens/{two.south_token_id}", None),
        ("POST", "/api/v1/tokens", {"name": "sneaky", "dealer": "D-ATL-002"}),
        (
            "POST",
            "/api/v1/dealers",
            {
                "code": "D-NYC-009",
                "name": "Mine",
                "city": "X",
                "state": "NY",
                "region": "Northeast",
            },
        ),
        ("POST", f"/api/v1/campaigns/{s}/archive", None),
    ]


def _call(client: TestClient, method: str, url: str, body: object, headers: dict[str, str]) -> int:
    if isinstance(body, str):
        response = client.request(
            method, url, content=body, headers={**headers, "Content-Type": "text/csv"}
        )
    else:
        response = client.request(method, url, json=body, headers=headers)
    return response.status_code


@pytest.mark.parametrize("who", ["session", "token"])
def test_another_dealers_data_is_refused_everywhere(two: Two, client: TestClient, who: str) -> None:
    headers = two.north_headers if who == "session" else two.north_token_headers
    for method, url, body in _refusals(two):
        status = _call(client, method, url, body, headers)
        assert status in (403, 404), f"{method} {url} answered {status}"
    # A code of another dealer's campaign is not reachable through one's own campaign.
    url = f"/api/v1/campaigns/{two.north_campaign}/codes/{two.south_code}/revoke"
    assert client.post(url, headers=headers).status_code == 404
    # And nothing of the south leaked into what north may list, export or search.
    texts = [
        client.get(url, headers=headers).text
        for url in (
            "/api/v1/dealers",
            "/api/v1/dealers?search=Peach",
            "/api/v1/campaigns?include_archived=true",
            "/api/v1/invitees?search=Zed",
            "/api/v1/invitees",
            "/api/v1/dealers/D-NYC-001/bookings",
            "/api/v1/dealers/D-NYC-001/bookings.csv",
            "/api/v1/dealers/D-NYC-001/summary",
            f"/api/v1/campaigns/{two.north_campaign}/invitees.csv",
            "/api/v1/users",
            "/api/v1/tokens",
        )
    ]
    for text in texts:
        for secret in (
            "D-ATL-002",
            "Peach State",
            "Southern drive",
            "Zed",
            "zed@example.com",
            "staff@south",
            "SOUTH-ONLY-K47",
        ):
            assert secret not in text
    summary = client.get("/api/v1/dealers/D-NYC-001/summary", headers=headers).json()
    assert summary["bookings"] == 1 and summary["invitees"] == 1
    # The south's data is still intact (refusals wrote nothing).
    assert (
        client.get(
            f"/api/v1/campaigns/{two.south_campaign}/codes", headers=two.north_headers
        ).status_code
        == 404
    )


def test_own_data_is_reachable(two: Two, client: TestClient) -> None:
    h = two.north_headers
    assert client.get("/api/v1/dealers/d-nyc-001", headers=h).status_code == 200
    assert [d["code"] for d in client.get("/api/v1/dealers", headers=h).json()] == ["D-NYC-001"]
    rows = client.get("/api/v1/dealers/D-NYC-001/bookings", headers=h).json()
    assert [r["guest_name"] for r in rows] == ["Nora North"]
    created = client.post(
        f"/api/v1/campaigns/{two.north_campaign}/codes",
        json={"code": "north-vip-k47", "max_uses": 5},
        headers=h,
    )
    assert created.status_code == 201 and created.json()["code"] == "NORTH-VIP-K47"


def test_anonymous_is_401_and_other_roles_403(two: Two, client: TestClient) -> None:
    for url in ("/api/v1/dealers", "/api/v1/campaigns", "/api/v1/invitees", "/api/v1/tokens"):
        anonymous = client.get(url)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        coach = client.get(url, headers=two.coach_headers)
        assert coach.status_code == 403, url
    bad = client.get("/api/v1/dealers", headers={"Authorization": "Bearer pdk_forged"})
    assert bad.status_code == 401


def test_centre_staff_see_every_dealer(two: Two, client: TestClient, session: Session) -> None:
    accounts.create_user(session, email="ops@paddock.example", role="operations", password=PASSWORD)
    h = _cookie(session, "ops@paddock.example")
    codes = {d["code"] for d in client.get("/api/v1/dealers", headers=h).json()}
    assert codes == {"D-NYC-001", "D-ATL-002"}
    assert client.get(f"/api/v1/campaigns/{two.south_campaign}", headers=h).status_code == 200
    assert len(service.list_attributed_bookings(session, scope=STAFF)) == 2


def test_the_refused_requests_work_for_an_admin(
    two: Two, client: TestClient, session: Session
) -> None:
    """Proof the refusals above are about scope, not about broken requests."""
    accounts.create_user(session, email="admin@paddock.example", role="admin", password=PASSWORD)
    h = _cookie(session, "admin@paddock.example")
    for method, url, body in _refusals(two):
        status = _call(client, method, url, body, h)
        assert 200 <= status < 300, f"{method} {url} answered {status}"
