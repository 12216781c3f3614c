"""The bookings and availability API on SQLite and PostgreSQL: RFC 9457 problems for every
refusal, idempotent creation, availability ranges, and the served documentation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings import service
from paddock.bookings.models import Booking
from paddock.catalog import service as catalog_service
from paddock.catalog.schemas import AvailabilityRead
from paddock.db import utcnow
from tests.auth import sign_in, sign_out
from tests.factories import MONDAY, at, make_world

PROBLEM = "application/problem+json"
GUEST = {"name": "Ann Lee", "email": "ann@example.com", "phone": "+1 404 555 0100"}


def body(start: datetime, **changes: Any) -> dict[str, Any]:
    return {"product": "drive", "starts_at": start.isoformat(), "guest": GUEST, **changes}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"https://paddock.example/problems/{code}"
    assert problem["status"] == status
    assert problem["title"] and isinstance(problem["title"], str)
    assert problem["detail"] and isinstance(problem["detail"], str)
    assert problem["instance"] == response.request.url.path
    return problem


def test_create_read_and_not_found(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "operations")  # staff read and act; guests book
    created = client.post("/api/v1/bookings", json=body(at(MONDAY, 10)))
    assert created.status_code == 201
    booking = created.json()
    assert booking["status"] == "confirmed" and booking["product"] == "drive"
    assert booking["manage_token"] and len(booking["resources"]) == 3
    assert created.headers["location"] == f"/api/v1/bookings/{booking['ref']}"
    read = client.get(f"/api/v1/bookings/{booking['ref'].lower()}").json()
    assert read["ref"] == booking["ref"] and read["manage_token"] is None
    history = client.get(f"/api/v1/bookings/{booking['ref']}/history").json()
    assert [h["action"] for h in history] == ["confirmed"]
    problem = assert_problem(client.get("/api/v1/bookings/PNOPE123"), 404, "not-found")
    assert "PNOPE123" in problem["detail"]
    assert_problem(client.post("/api/v1/bookings/PNOPE123/cancel"), 404, "not-found")


def test_a_price_is_an_exact_decimal_string_with_its_currency(
    client: TestClient, session: Session
) -> None:
    """30 cents is "0.30" in every answer (as floats, 0.1 + 0.2 is 0.30000000000000004)."""
    world = make_world(session)
    world.products["drive"].price_cents = 30
    world.products["drive"].currency = "EUR"
    session.commit()
    catalog_service.invalidate_cache()
    sign_in(client, session, "operations")
    created = client.post("/api/v1/bookings", json=body(at(MONDAY, 10))).json()
    read = client.get(f"/api/v1/bookings/{created['ref']}").json()
    product = client.get("/api/v1/products/drive").json()
    for answer in (created, read, product):
        assert (answer["price"], answer["currency"]) == ("0.30", "EUR")
        assert Decimal(answer["price"]) == Decimal("0.1") + Decimal("0.2")
    stored = session.scalar(select(Booking.price_cents).where(Booking.ref == created["ref"]))
    assert stored == 30


def test_sold_out_is_409_with_the_shortfall(client: TestClient, session: Session) -> None:
    make_world(session, cars=1, coaches=3)
    assert client.post("/api/v1/bookings", json=body(at(MONDAY, 10))).status_code == 201
    problem = assert_problem(
        client.post("/api/v1/bookings", json=body(at(MONDAY, 10, 30))), 409, "sold-out"
    )
    assert problem["title"] == "Sold out"
    assert problem["binding_pool"] == "car"
    (short,) = problem["shortfalls"]
    # Guests read the pool's public wording, never its internal name.
    assert short["pool"] == "car" and short["wording"] == "cars" and "pool_name" not in short
    assert (short["needed"], short["free"], short["missing"]) == (1, 0, 1)
    assert datetime.fromisoformat(short["starts_at"]) == at(MONDAY, 10, 30)
    assert "no cars free" in problem["detail"] and "Cars" not in problem["detail"]


def test_expired_hold_is_410(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "operations")  # staff read and act; guests book
    hold = service.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=service.Guest("Ann Lee", "ann@example.com"),
        hold=True,
        hold_minutes=10,
        now=utcnow() - timedelta(hours=1),
    )
    ref = hold.booking.ref
    assert client.get(f"/api/v1/bookings/{ref}").json()["status"] == "expired"
    problem = assert_problem(client.post(f"/api/v1/bookings/{ref}/confirm"), 410, "hold-expired")
    assert ref in problem["detail"]
    assert client.get(f"/api/v1/bookings/{ref}").json()["resources"] == []


def test_hold_then_confirm(client: TestClient, session: Session) -> None:
    """The guest confirms their own hold through its manage token; the staff API is not
    theirs; operations confirm a hold taken by phone."""
    make_world(session)
    held = client.post("/api/v1/bookings", json=body(at(MONDAY, 10), hold=True)).json()
    assert held["status"] == "held" and held["hold_expires_at"]
    assert_problem(client.post(f"/api/v1/bookings/{held['ref']}/confirm"), 401, "unauthorized")
    confirmed = client.post(f"/api/v1/manage/{held['manage_token']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    sign_in(client, session, "operations")
    other = client.post("/api/v1/bookings", json=body(at(MONDAY, 12), hold=True)).json()
    by_staff = client.post(f"/api/v1/bookings/{other['ref']}/confirm")
    assert by_staff.status_code == 200 and by_staff.json()["status"] == "confirmed"
    history = client.get(f"/api/v1/bookings/{held['ref']}/history").json()
    assert history[-1]["actor"] == "guest via manage link"
    assert client.get(f"/api/v1/bookings/{other['ref']}/history").json()[-1]["actor"] == (
        "user:operations@centre.example"
    )
    sign_out(client)


def test_invalid_transitions_are_409(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "operations")  # staff read and act; guests book
    ref = client.post("/api/v1/bookings", json=body(at(MONDAY, 10), hold=True)).json()["ref"]
    problem = assert_problem(
        client.post(f"/api/v1/bookings/{ref}/check-in"), 409, "invalid-transition"
    )
    assert "held" in problem["detail"]
    cancelled = client.post(f"/api/v1/bookings/{ref}/cancel", json={"reason": "ill"})
    assert cancelled.json()["status"] == "cancelled"
    assert_problem(client.post(f"/api/v1/bookings/{ref}/confirm"), 409, "invalid-transition")
    assert_problem(
        client.post(f"/api/v1/bookings/{ref}/move", json={"starts_at": at(MONDAY, 12).isoformat()}),
        409,
        "invalid-transition",
    )


def test_validation_problems_are_422(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "operations")  # staff read and act; guests book
    start = at(MONDAY, 10)
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "bad email": (body(start, guest={**GUEST, "email": "ann@"}), "guest.email"),
        "naive time": (body(start, starts_at="2031-06-02T10:00:00"), "starts_at"),
        "unknown product": (body(start, product="no-such-drive"), "no-such-drive"),
        "off the grid": (body(at(MONDAY, 10, 10)), "not a start time"),
        "after closing": (body(at(MONDAY, 17)), "not a start time"),
        "in the past": (body(utcnow() - timedelta(days=1)), "passed"),
        "no name": (body(start, guest={**GUEST, "name": "42"}), "name"),
        "missing guest": ({"product": "drive", "starts_at": start.isoformat()}, "guest"),
    }
    for name, (payload, expected) in cases.items():
        response = client.post("/api/v1/bookings", json=payload)
        problem = assert_problem(response, 422, "invalid")
        assert expected in problem["detail"], (name, problem)
    # Structural errors list each field.
    problem = client.post("/api/v1/bookings", json=cases["bad email"][0]).json()
    assert problem["errors"][0]["field"] == "guest.email"
    broken = client.post(
        "/api/v1/bookings",
        content=b'{"product": "drive",',
        headers={"content-type": "application/json"},
    )
    assert "JSON" in assert_problem(broken, 422, "invalid")["detail"]
    long_key = client.post(
        "/api/v1/bookings", json=body(start), headers={"Idempotency-Key": "k" * 201}
    )
    assert "Idempotency-Key" in assert_problem(long_key, 422, "invalid")["detail"]
    assert client.get("/api/v1/bookings").json() == []


def test_idempotent_replay(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "operations")  # staff read and act; guests book
    headers = {"Idempotency-Key": "order-7f3a"}
    first = client.post("/api/v1/bookings", json=body(at(MONDAY, 10)), headers=headers)
    again = client.post("/api/v1/bookings", json=body(at(MONDAY, 10)), headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["ref"] == first.json()["ref"]
    assert again.headers["location"] == first.headers["location"]
    assert len(client.get("/api/v1/bookings").json()) == 1
    reused = client.post("/api/v1/bookings", json=body(at(MONDAY, 12)), headers=headers)
    problem = assert_problem(reused, 409, "conflict")
    assert "Idempotency-Key" in problem["detail"]


def test_a_retry_of_the_booking_that_took_the_last_place_gets_that_booking(
    client: TestClient, session: Session
) -> None:
    make_world(session, cars=1)
    sign_in(client, session, "operations")  # staff read and act; guests book
    headers = {"Idempotency-Key": "last-car-1"}
    first = client.post("/api/v1/bookings", json=body(at(MONDAY, 10)), headers=headers)
    assert first.status_code == 201
    # The slot is full now: the same request again is its booking, another one is refused.
    again = client.post("/api/v1/bookings", json=body(at(MONDAY, 10)), headers=headers)
    assert again.status_code == 200 and again.json()["ref"] == first.json()["ref"]
    other = client.post(
        "/api/v1/bookings", json=body(at(MONDAY, 10)), headers={"Idempotency-Key": "last-car-2"}
    )
    assert_problem(other, 409, "sold-out")
    assert len(client.get("/api/v1/bookings").json()) == 1


def test_availability_range(client: TestClient, session: Session) -> None:
    make_world(session, cars=1)
    client.post("/api/v1/bookings", json=body(at(MONDAY, 10)))
    url = "/api/v1/products/drive/availability"
    month = client.get(url, params={"from": str(MONDAY)})
    assert month.status_code == 200
    result = month.json()
    # Exactly the documented schema: the answer round-trips through its model unchanged.
    assert AvailabilityRead.model_validate_json(month.content).model_dump() == (
        AvailabilityRead.model_validate(result).model_dump()
    )
    assert month.content == AvailabilityRead.model_validate(result).model_dump_json().encode()
    assert result["time_zone"] == "America/New_York" and result["site"] == "TST"
    assert date.fromisoformat(result["date_to"]) == MONDAY + timedelta(days=29)  # 30 days
    assert len(result["slots"]) == 30 * 18
    slot = next(s for s in result["slots"] if s["local_time"] == "2031-06-02T10:00:00-04:00")
    assert slot["remaining"] == 0 and slot["short"]["pool"] == "car"
    last = MONDAY + timedelta(days=61)
    assert client.get(url, params={"from": str(MONDAY), "to": str(last)}).status_code == 200
    too_long = client.get(url, params={"from": str(MONDAY), "to": str(last + timedelta(1))})
    assert "62 days" in assert_problem(too_long, 422, "invalid")["detail"]
    backwards = client.get(url, params={"from": str(MONDAY), "to": str(MONDAY - timedelta(1))})
    assert_problem(backwards, 422, "invalid")
    assert_problem(client.get(url), 422, "invalid")  # 'from' is required
    assert_problem(client.get(url, params={"from": "June 2nd"}), 422, "invalid")
    assert_problem(
        client.get("/api/v1/products/nope/availability", params={"from": str(MONDAY)}),
        404,
        "not-found",
    )


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Paddock"
    for path in (
        "/api/v1/bookings",
        "/api/v1/bookings/{ref}",
        "/api/v1/products/{code}/availability",
    ):
        assert path in spec["paths"]
    create = spec["paths"]["/api/v1/bookings"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert spec["components"]["schemas"][body.rsplit("/", 1)[1]]["required"] == [
        "product",
        "starts_at",
        "guest",
    ]
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BookingRead"
    )
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "http-404")


def test_a_product_not_sold_online_is_refused_by_the_public_api(
    client: TestClient, session: Session
) -> None:
    world = make_world(session)
    world.products["sim"].public = False
    session.commit()
    response = client.post(
        "/api/v1/bookings",
        json={
            "product": "sim",
            "starts_at": at(MONDAY, 10).isoformat(),
            "guest": {"name": "Ann Lee", "email": "ann@example.com"},
        },
    )
    assert response.status_code == 422
    assert "not open for online booking" in response.json()["detail"]


def test_the_staff_api_is_closed_to_guests_and_coaches_only_read(
    client: TestClient, session: Session
) -> None:
    """Issue 11, finding 1: the bookings API listed every guest and cancelled anonymously; a
    coach refused a no-show on the page could check a guest in through the API; the audit
    named "api"."""
    make_world(session)
    made = client.post("/api/v1/bookings", json=body(at(MONDAY, 10))).json()
    ref = made["ref"]
    listed = client.get("/api/v1/bookings")
    assert_problem(listed, 401, "unauthorized")
    assert GUEST["email"] not in listed.text
    for action in ("cancel", "confirm", "check-in", "complete", "no-show"):
        assert_problem(client.post(f"/api/v1/bookings/{ref}/{action}"), 401, "unauthorized")
    sign_in(client, session, "coach")
    assert client.get("/api/v1/bookings").json()[0]["guest"]["email"] == GUEST["email"]
    for action in ("check-in", "no-show", "cancel"):
        assert_problem(client.post(f"/api/v1/bookings/{ref}/{action}"), 403, "forbidden")
    sign_in(client, session, "operations")
    assert client.post(f"/api/v1/bookings/{ref}/cancel").json()["status"] == "cancelled"
    actors = [h["actor"] for h in client.get(f"/api/v1/bookings/{ref}/history").json()]
    assert actors == ["guest:ann@example.com", "user:operations@centre.example"]
    # A day is a site's local day: without the site it is refused, not ignored.
    assert_problem(client.get("/api/v1/bookings", params={"day": str(MONDAY)}), 422, "invalid")
    assert len(client.get("/api/v1/bookings", params={"day": str(MONDAY), "site": "TST"}).json())


def test_the_list_reads_a_fixed_number_of_statements_whatever_its_length(
    client: TestClient, session: Session
) -> None:
    """GET /api/v1/bookings read each booking again, with its resources and product, and
    committed per row (issue 12): now the same statements for 2 bookings or 10."""
    from sqlalchemy import event

    make_world(session, cars=10, coaches=10, positions=10)
    sign_in(client, session, "operations")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    def selects_to_list(total: int) -> int:
        statements.clear()
        listed = client.get("/api/v1/bookings", params={"limit": 500}).json()
        assert len(listed) == total and all(b["resources"] for b in listed)
        return sum(s.lstrip().upper().startswith("SELECT") for s in statements)

    starts = iter(at(MONDAY, 9 + n // 2, 30 * (n % 2)) for n in range(10))
    for _ in range(2):
        client.post("/api/v1/bookings", json=body(next(starts)))
    engine = client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        few = selects_to_list(2)
        for _ in range(8):
            client.post("/api/v1/bookings", json=body(next(starts)))
        assert selects_to_list(10) == few
    finally:
        event.remove(engine, "before_cursor_execute", count)
