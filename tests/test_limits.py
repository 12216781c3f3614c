"""Numbers and dates the database cannot hold are invalid input (422 problem+json), never a
bare 500 (issue 11, finding 6): declared bounds on ids and dates, and a safety net for what
gets past them. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from paddock.hot_routes import HotRoutes
from paddock.http import install_problem_handlers
from paddock.limits import install_range_handlers
from tests.auth import sign_in
from tests.crm.helpers import make_dealer
from tests.factories import MONDAY, at, make_world

HUGE = 99999999999999999999  # past 64 bits
BIG = 3_000_000_000  # past PostgreSQL's integer


def invalid(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


@pytest.fixture
def admin(client: TestClient, session: Session) -> TestClient:
    make_world(session)
    make_dealer(session)
    session.commit()
    sign_in(client, session, "admin")
    return client


@pytest.mark.parametrize("number", [HUGE, BIG, 0, -1])
def test_ids_out_of_range_in_the_path_are_invalid(admin: TestClient, number: int) -> None:
    for path in (
        f"/api/v1/units/{number}",
        f"/api/v1/blocks/{number}",
        f"/api/v1/people/{number}",
        f"/api/v1/campaigns/{number}",
        f"/api/v1/dealers/D-ATL-001/webhook/events/{number}",
    ):
        body = invalid(admin.get(path))
        assert "less than or equal to 2147483647" in body["detail"] or "greater" in body["detail"]


@pytest.mark.parametrize("number", [HUGE, BIG])
def test_ids_out_of_range_in_the_query_are_invalid(admin: TestClient, number: int) -> None:
    for path in (
        "/api/v1/bookings?after_id={}",
        "/api/v1/people?after_id={}",
        "/api/v1/users?after_id={}",
        "/api/v1/sales?person_id={}",
        "/api/v1/blocks?unit_id={}",
        "/api/v1/dealers/D-ATL-001/bookings?before_id={}",
        "/api/v1/dealers/D-ATL-001/webhook/events?after_id={}",
    ):
        body = invalid(admin.get(path.format(number)))
        assert "2147483647" in body["detail"]


@pytest.mark.parametrize("number", [HUGE, BIG])
def test_ids_out_of_range_in_a_body_are_invalid(admin: TestClient, number: int) -> None:
    person = admin.post("/api/v1/people", json={"name": "Ann Lee", "email": "ann@example.com"})
    assert person.status_code == 201, person.text
    merge = admin.post(f"/api/v1/people/{person.json()['id']}/merge", json={"duplicate_id": number})
    assert "duplicate_id" in invalid(merge)["detail"]
    block = {
        "unit_id": number,
        "starts_at": at(MONDAY, 9).isoformat(),
        "ends_at": at(MONDAY, 10).isoformat(),
        "reason": "service",
    }
    assert "unit_id" in invalid(admin.post("/api/v1/blocks", json=block))["detail"]


FAR = "9999-12-31T10:00:00Z"


def test_dates_near_year_9999_are_invalid(admin: TestClient) -> None:
    guest = {"name": "Ann Lee", "email": "ann@example.com"}
    booking = {"product": "drive", "starts_at": FAR, "guest": guest}
    assert "starts_at" in invalid(admin.post("/api/v1/bookings", json=booking))["detail"]
    block = {"site": "TST", "starts_at": FAR, "ends_at": FAR, "reason": "closed"}
    invalid(admin.post("/api/v1/blocks", json=block))
    block = {"site": "TST", "starts_at": at(MONDAY, 9).isoformat(), "ends_at": FAR}
    invalid(admin.post("/api/v1/blocks", json=block | {"reason": "closed"}))
    invalid(admin.get("/api/v1/products/drive/availability?from=9999-12-31"))
    invalid(admin.get("/api/v1/products/drive/availability?from=2031-06-02&to=9999-12-31"))
    invalid(admin.get("/api/v1/products/drive/availability?from=0001-01-01"))
    body = invalid(admin.get("/api/v1/dealers/D-ATL-001/allotments?from=9999-12"))
    assert "between 1900 and 2200" in body["detail"]
    invalid(admin.put("/api/v1/dealers/D-ATL-001/allotments/TST/9999-12", json={"places": 1}))
    invalid(admin.get("/api/v1/kpi?as_of=9999-12-31"))
    invalid(admin.get("/api/v1/bookings?site=TST&day=9999-12-31"))


def test_dates_within_the_range_are_answered(admin: TestClient) -> None:
    response = admin.get("/api/v1/products/drive/availability?from=2200-12-01")
    assert response.status_code == 200, response.text


# The safety net -----------------------------------------------------------------------------


def net_app(engine: Engine) -> FastAPI:
    """Routes that hit what the declared bounds would have stopped: an integer the database
    column cannot hold, and date arithmetic past year 9999, on the router and on HotRoutes."""
    app = FastAPI()
    install_problem_handlers(app)
    install_range_handlers(app)
    router = APIRouter()

    @router.get("/number/{n}")
    def number(n: int) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT CAST(:n AS INTEGER)"), {"n": n}).scalar_one())

    @router.get("/year")
    def year() -> str:
        return str(
            at(MONDAY, 9).replace(year=9999, month=12, day=31)
            + (at(MONDAY, 9) - at(MONDAY, 8)) * 24
        )

    async def hot(request: Request) -> Response:
        raise OverflowError("date value out of range")

    router.add_api_route("/hot", hot, methods=["POST"])
    app.include_router(router)
    app.add_middleware(HotRoutes, routes={("POST", "/hot")})
    return app


def test_the_safety_net_answers_values_out_of_range_with_422(engine: Engine) -> None:
    client = TestClient(net_app(engine), raise_server_exceptions=False)
    assert client.get("/number/7").json() == 7
    # SQLite's INTEGER has 64 bits, PostgreSQL's 32.
    for n in (BIG, HUGE) if engine.dialect.name == "postgresql" else (HUGE,):
        body = invalid(client.get(f"/number/{n}"))
        assert body["type"].endswith("/out-of-range") and "number" in body["detail"]
    body = invalid(client.get("/year"))
    assert "date" in body["detail"]
    body = invalid(client.post("/hot"))
    assert "date" in body["detail"]
