"""The CRM, webhook and KPI endpoints over HTTP: what each role may do, and a dealer never sees
another dealer's contacts, sales, webhooks or figures (404 or 403, and nothing in lists)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.crm import service as crm
from tests.crm.helpers import make_dealer
from tests.crm.test_deliveries import delivery_world
from tests.factories import MONDAY, at

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@dataclass
class Crew:
    admin: dict[str, str]
    ops: dict[str, str]
    coach: dict[str, str]
    north: dict[str, str]  # a dealer's API token
    south: dict[str, str]  # another dealer's signed-in staff
    north_person: int
    south_person: int


def _user(session: Session, email: str, role: str, dealer: str | None = None) -> dict[str, str]:
    accounts.create_user(session, email=email, role=role, password=PASSWORD, dealer_code=dealer)
    sign_in = accounts.login(session, email=email, password=PASSWORD)
    return {"Cookie": f"paddock_session={sign_in.token}"}


@pytest.fixture
def crew(session: Session) -> Crew:
    delivery_world(session)
    north = make_dealer(session, "D-N", "North Motors")
    make_dealer(session, "D-S", "South Motors")
    token = accounts.create_token(session, dealer_id=north.id, name="north crm", actor="test")
    a = crm.create_person(session, name="Nora North", email="nora@example.com", dealer_id=north.id)
    south_id = north.id + 1
    b = crm.create_person(session, name="Zed South", email="zed@example.com", dealer_id=south_id)
    return Crew(
        admin=_user(session, "admin@paddock.example.com", "admin"),
        ops=_user(session, "ops@paddock.example.com", "operations"),
        coach=_user(session, "coach@paddock.example.com", "coach"),
        north={"Authorization": f"Bearer {token.secret}"},
        south=_user(session, "staff@south.example.com", "dealer", "D-S"),
        north_person=a.id,
        south_person=b.id,
    )


def test_dealers_see_only_their_contacts(client: TestClient, crew: Crew) -> None:
    listed = client.get("/api/v1/people", headers=crew.north).json()
    assert [p["id"] for p in listed] == [crew.north_person]
    assert client.get("/api/v1/people?q=zed", headers=crew.north).json() == []
    assert client.get("/api/v1/people?dealer=D-S", headers=crew.north).status_code == 404
    other = f"/api/v1/people/{crew.south_person}"
    for method, path, body in (
        ("GET", other, None),
        ("PATCH", other, {"phone": "1"}),
        ("PUT", f"{other}/consents", {"phone": True, "source": "x"}),
        ("GET", f"{other}/visits", None),
        ("GET", f"{other}/vehicles", None),
        ("POST", f"/api/v1/people/{crew.north_person}/merge", {"duplicate_id": crew.south_person}),
    ):
        response = client.request(method, path, json=body, headers=crew.north)
        assert response.status_code == 404, (method, path, response.text)
        assert "Zed" not in response.text
    # Export is for centre staff, erasure for an admin.
    assert client.get(f"{other}/export", headers=crew.north).status_code == 403
    assert client.get(f"{other}/export", headers=crew.coach).status_code == 403
    assert (
        client.post(f"{other}/erase", json={"confirm": True}, headers=crew.ops).status_code == 403
    )
    # Centre staff see everyone.
    assert len(client.get("/api/v1/people", headers=crew.ops).json()) == 2
    assert client.get("/api/v1/people", headers=crew.coach).status_code == 403
    assert client.get("/api/v1/people").status_code == 401


def test_dealer_creates_contacts_for_itself_only(client: TestClient, crew: Crew) -> None:
    made = client.post(
        "/api/v1/people",
        json={"name": "New Lead", "email": "Lead@Example.com", "consents": {"phone": True}},
        headers=crew.north,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["dealer"] == "D-N" and body["email"] == "lead@example.com"
    assert body["consents"]["phone"]["granted"] is True
    again = client.post(
        "/api/v1/people",
        json={"name": "Lead Again", "email": "lead@example.com"},
        headers=crew.north,
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    foreign = client.post(
        "/api/v1/people",
        json={"name": "Sneaky", "email": "s@example.com", "dealer": "D-S"},
        headers=crew.north,
    )
    assert foreign.status_code == 404


def test_a_dealer_cannot_write_into_another_dealers_contact(
    client: TestClient, crew: Crew, session: Session
) -> None:
    """Issue 11, finding 4: North's token reporting a sale to South's contact records North's
    sale but leaves South's person as it was and tells North nothing of them; adding South's
    contact as a person answers exactly as a duplicate of North's own does."""
    sale = {
        "email": "zed@example.com",
        "name": "Zed Renamed",
        "model": "Macan",
        "sold_on": "2024-05-03",
        "deal_ref": "N-9",
        "vin": "WP0AB2A99RS123456",
    }
    made = client.post("/api/v1/sales", json=sale, headers=crew.north)
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["dealer"] == "D-N" and answer["person_id"] is None
    assert answer["converted"] is False and answer["visit_ref"] is None
    assert "Zed" not in made.text
    zed = client.get(f"/api/v1/people/{crew.south_person}", headers=crew.ops).json()
    assert zed["name"] == "Zed South" and zed["kind"] == "prospect" and zed["dealer"] == "D-S"
    vehicles = client.get(f"/api/v1/people/{crew.south_person}/vehicles", headers=crew.ops)
    assert vehicles.json() == []
    listed = client.get("/api/v1/sales", headers=crew.north).json()
    assert [s["person_id"] for s in listed] == [None]
    # Adding either dealer's contact: one answer, with nothing of the person.
    own = client.post(
        "/api/v1/people", json={"name": "X Y", "email": "nora@example.com"}, headers=crew.north
    )
    other = client.post(
        "/api/v1/people", json={"name": "X Y", "email": "zed@example.com"}, headers=crew.north
    )
    assert own.status_code == other.status_code == 409
    assert own.json()["detail"].replace("nora", "zed") == other.json()["detail"]
    assert "Zed" not in other.text and "D-S" not in other.text


def test_sales_are_scoped_and_imports_report_every_bad_row(client: TestClient, crew: Crew) -> None:
    sold = "2024-05-03"
    sale = {
        "email": "nora@example.com",
        "name": "Nora North",
        "model": "Macan",
        "sold_on": sold,
        "deal_ref": "N-1",
    }
    made = client.post("/api/v1/sales", json=sale, headers=crew.north)
    assert made.status_code == 201, made.text
    assert made.json()["dealer"] == "D-N"
    assert client.post("/api/v1/sales", json=sale, headers=crew.north).status_code == 409
    assert client.get("/api/v1/sales", headers=crew.south).json() == []
    assert len(client.get("/api/v1/sales", headers=crew.ops).json()) == 1
    bad = (
        "email,name,model,sold_on,deal_ref\nok@example.com,Ok Person,Macan,2020-01-02,N-2\n"
        "nope,Bad Person,Macan,2020-01-02,N-3\n"
    )
    response = client.post(
        "/api/v1/sales/import", content=bad, headers={**crew.north, "Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": 3, "field": "email", "message": response.json()["errors"][0]["message"]}
    ]
    assert len(client.get("/api/v1/sales", headers=crew.north).json()) == 1
    good = bad.splitlines()[0] + "\n" + bad.splitlines()[1] + "\n"
    dry = client.post(
        "/api/v1/sales/import?dry_run=true",
        content=good,
        headers={**crew.north, "Content-Type": "text/csv"},
    )
    assert dry.status_code == 200 and dry.json()["imported"] == 0
    done = client.post(
        "/api/v1/sales/import", content=good, headers={**crew.north, "Content-Type": "text/csv"}
    )
    assert done.status_code == 201 and done.json()["imported"] == 1


def test_export_and_erase_over_http(client: TestClient, crew: Crew, session: Session) -> None:
    path = f"/api/v1/people/{crew.north_person}"
    exported = client.get(f"{path}/export", headers=crew.ops)
    assert exported.status_code == 200
    assert exported.json()["person"]["email"] == "nora@example.com"
    refused = client.post(f"{path}/erase", json={"confirm": False}, headers=crew.admin)
    assert refused.status_code == 422
    erased = client.post(f"{path}/erase", json={"confirm": True}, headers=crew.admin)
    assert erased.status_code == 200, erased.text
    assert client.get(path, headers=crew.ops).json()["erased"] is True
    assert (
        client.post(f"{path}/erase", json={"confirm": True}, headers=crew.admin).status_code == 409
    )


def test_delivery_over_http(client: TestClient, crew: Crew) -> None:
    response = client.post(
        "/api/v1/deliveries",
        json={
            "person_id": crew.north_person,
            "vin": "WP0AA2A91SS206201",
            "model": "911 Carrera S",
            "starts_at": at(MONDAY + timedelta(days=30), 10).isoformat(),
            "product": "delivery",
        },
        headers=crew.north,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["vehicle"]["dealer"] == "D-N" and body["status"] == "confirmed"
    assert any(r.startswith("Customer car") for r in body["resources"])
    foreign = client.post(
        "/api/v1/deliveries",
        json={
            "person_id": crew.south_person,
            "vin": "WP0AA2A91SS206202",
            "model": "Macan",
            "product": "delivery",
            "starts_at": at(MONDAY + timedelta(days=31), 10).isoformat(),
        },
        headers=crew.north,
    )
    assert foreign.status_code == 404


def test_webhook_endpoints_are_the_dealers_own(client: TestClient, crew: Crew) -> None:
    made = client.put(
        "/api/v1/dealers/D-N/webhook",
        json={"url": "https://crm.north.example/x"},
        headers=crew.north,
    )
    assert made.status_code == 200 and made.json()["secret"].startswith("whsec_")
    assert client.get("/api/v1/dealers/D-N/webhook", headers=crew.north).json()["secret"] is None
    assert client.get("/api/v1/dealers/D-N/webhook", headers=crew.south).status_code == 404
    assert client.get("/api/v1/dealers/D-N/webhook/events", headers=crew.south).status_code == 404
    ping = client.post("/api/v1/dealers/D-N/webhook/ping", headers=crew.north)
    assert ping.status_code == 202
    event_id = ping.json()["id"]
    assert (
        client.get(f"/api/v1/dealers/D-S/webhook/events/{event_id}", headers=crew.ops).status_code
        == 404
    )
    detail = client.get(f"/api/v1/dealers/D-N/webhook/events/{event_id}", headers=crew.north)
    assert detail.json()["payload"]["type"] == "ping" and detail.json()["log"] == []


def test_kpis_for_staff_and_a_dealers_own_standing(
    client: TestClient, crew: Crew, session: Session
) -> None:
    assert client.get("/api/v1/kpi", headers=crew.north).status_code == 403
    report = client.get("/api/v1/kpi?year=2031", headers=crew.ops)
    assert report.status_code == 200, report.text
    assert report.json()["drivers"]["target"] == 20_000
    csv = client.get("/api/v1/kpi.csv?year=2031", headers=crew.admin)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "kpi,subject,value,target,detail"
    assert client.get("/api/v1/kpi/dealers/D-S", headers=crew.north).status_code == 404
    own = client.get("/api/v1/kpi/dealers/D-N", headers=crew.north)
    assert own.status_code == 200 and own.json()["dealer"] == "D-N"
