"""The fleet and site operations API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from tests.auth import sign_in
from tests.factories import MONDAY, at, make_world

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _operations(client: TestClient, session: Session) -> None:
    """The fleet is operations' (tests/test_access.py covers who else may)."""
    sign_in(client, session, "operations")


def iso(moment: datetime) -> str:
    return moment.isoformat()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_pools_list_units_with_state_and_attributes(client: TestClient, session: Session) -> None:
    world = make_world(session, cars=2)
    world.units["car"][0].attributes = {"vin": "WP0AB2A99KS123456", "odometer_miles": 1200}
    session.commit()
    response = client.get("/api/v1/sites/TST/pools")
    assert response.status_code == 200
    pools = {p["code"]: p for p in response.json()}
    assert set(pools) == {"car", "coach", "module", "sim"}
    cars = pools["car"]
    assert cars["units_total"] == cars["units_active"] == 2
    first = cars["units"][0]
    assert first["attributes"]["vin"] == "WP0AB2A99KS123456"
    assert first["state"] in {"available", "off_duty"}
    assert pools["coach"]["units"][0]["qualifications"] == ["coach"]
    assert client.get("/api/v1/sites/NOPE/pools").status_code == 404
    units = client.get("/api/v1/sites/TST/units", params={"kind": "coach"}).json()
    assert [u["label"] for u in units] == ["Coach 1", "Coach 2"]


def test_unit_detail(client: TestClient, session: Session) -> None:
    world = make_world(session, coach_shift=("09:00", "17:00"))
    coach = world.units["coach"][0]
    body = client.get(f"/api/v1/units/{coach.id}").json()
    assert body["label"] == "Coach 1" and body["site"] == "TST"
    assert body["pool_details"] == [{"code": "coach", "name": "Coachs", "kind": "coach"}]
    assert len(body["shifts"]) == 7 and body["shifts"][0]["starts_at"] == "09:00:00"
    assert body["blocks"] == [] and body["schedule_today"] == []
    missing = client.get("/api/v1/units/999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM


def test_block_lifecycle(client: TestClient, session: Session) -> None:
    world = make_world(session, cars=1)
    car = world.units["car"][0].id
    created = client.post(
        "/api/v1/blocks",
        json={
            "unit_id": car,
            "starts_at": iso(at(MONDAY, 8)),
            "ends_at": iso(at(MONDAY, 12)),
            "reason": "Brake service",
        },
    )
    assert created.status_code == 201, created.text
    block = created.json()
    assert block["kind"] == "maintenance" and block["unit"] == "Car 1" and block["site"] == "TST"
    assert created.headers["location"] == f"/api/v1/blocks/{block['id']}"
    assert client.get(f"/api/v1/blocks/{block['id']}").json() == block
    listed = client.get("/api/v1/blocks", params={"unit_id": car}).json()
    assert [b["id"] for b in listed] == [block["id"]]
    # The slot it covers is gone from availability.
    slots = client.get(
        "/api/v1/products/drive/availability", params={"from": str(MONDAY), "to": str(MONDAY)}
    )
    by_start = {when(s["starts_at"]): s for s in slots.json()["slots"]}
    assert by_start[at(MONDAY, 10)]["remaining"] == 0
    assert by_start[at(MONDAY, 10)]["short"]["pool"] == "car"
    changed = client.patch(f"/api/v1/blocks/{block['id']}", json={"ends_at": iso(at(MONDAY, 9))})
    assert changed.status_code == 200 and when(changed.json()["ends_at"]) == at(MONDAY, 9)
    assert client.delete(f"/api/v1/blocks/{block['id']}").status_code == 204
    assert client.get(f"/api/v1/blocks/{block['id']}").status_code == 404
    assert client.delete(f"/api/v1/blocks/{block['id']}").status_code == 404


def test_block_over_bookings_is_a_409_naming_them(client: TestClient, session: Session) -> None:
    world = make_world(session, cars=1)
    start = at(MONDAY, 10)
    ref = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=start,
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
    ).booking.ref
    response = client.post(
        "/api/v1/blocks",
        json={
            "unit_id": world.units["car"][0].id,
            "starts_at": iso(at(MONDAY, 8)),
            "ends_at": iso(at(MONDAY, 18)),
            "reason": "Recall",
        },
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/conflict") and problem["status"] == 409
    assert ref in problem["detail"]
    assert when(problem["affected"][0]["starts_at"]) == start
    assert when(problem["affected"][0]["ends_at"]) == start + timedelta(minutes=90)
    assert problem["affected"] == [
        {
            "kind": "booking",
            "id": problem["affected"][0]["id"],
            "reference": f"booking {ref} (Ann Lee)",
            "starts_at": problem["affected"][0]["starts_at"],
            "ends_at": problem["affected"][0]["ends_at"],
            "units": ["Car 1"],
        }
    ]
    closure = client.post(
        "/api/v1/blocks",
        json={
            "site": "TST",
            "starts_at": iso(at(MONDAY, 0)),
            "ends_at": iso(at(MONDAY, 23)),
            "reason": "Storm",
        },
    )
    assert closure.status_code == 409 and len(closure.json()["affected"]) == 1


def test_site_closure(client: TestClient, session: Session) -> None:
    make_world(session)
    response = client.post(
        "/api/v1/blocks",
        json={
            "site": "tst",
            "starts_at": iso(at(MONDAY, 0)),
            "ends_at": iso(at(MONDAY, 23)),
            "reason": "Independence Day",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "closure" and response.json()["unit_id"] is None
    assert [b["kind"] for b in client.get("/api/v1/blocks", params={"site": "TST"}).json()] == [
        "closure"
    ]


def test_block_validation(client: TestClient, session: Session) -> None:
    world = make_world(session)
    car = world.units["car"][0].id
    base = {"starts_at": iso(at(MONDAY, 8)), "ends_at": iso(at(MONDAY, 9)), "reason": "Tyres"}
    bad = [
        {**base},  # neither unit nor site
        {**base, "unit_id": car, "site": "TST"},  # both
        {**base, "unit_id": car, "ends_at": iso(at(MONDAY, 7))},
        {**base, "unit_id": car, "starts_at": "2031-06-02T08:00:00"},  # naive
        {**base, "unit_id": car, "reason": "x"},
        {**base, "unit_id": car, "kind": "party"},
    ]
    for body in bad:
        response = client.post("/api/v1/blocks", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"]
    assert client.post("/api/v1/blocks", json={**base, "unit_id": 999999}).status_code == 404
    assert client.get("/api/v1/blocks").json() == []


def test_retire_and_reactivate(client: TestClient, session: Session) -> None:
    world = make_world(session, cars=2)
    car = world.units["car"][1].id
    retired = client.post(f"/api/v1/units/{car}/retire", json={"reason": "Sold"})
    assert retired.status_code == 200, retired.text
    assert retired.json()["state"] == "retired" and retired.json()["active"] is False
    assert client.post(f"/api/v1/units/{car}/retire", json={"reason": "Sold"}).status_code == 409
    pools = {p["code"]: p for p in client.get("/api/v1/sites/TST/pools").json()}
    assert pools["car"]["units_active"] == 1
    back = client.post(f"/api/v1/units/{car}/reactivate")
    assert back.status_code == 200 and back.json()["active"] is True
    assert client.post(f"/api/v1/units/{car}/retire", json={}).status_code == 422


def test_operations_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/sites/{code}/pools",
        "/api/v1/units/{unit_id}",
        "/api/v1/blocks",
        "/api/v1/blocks/{block_id}",
        "/api/v1/units/{unit_id}/retire",
    ):
        assert path in paths
