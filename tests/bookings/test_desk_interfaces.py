"""The operations desk through the JSON API and the `paddock desk` command, on SQLite and
PostgreSQL: a phone booking, a cancellation that needs its reason, a car blocked with its
bookings moved and the guests to call listed, the run sheet; coaches only read."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.bookings import service
from tests.auth import sign_in
from tests.bookings.test_api import assert_problem
from tests.bookings.test_cli import Run, run_main
from tests.bookings.test_cli import paddock as paddock  # the fixture
from tests.factories import MONDAY, at, make_world


def guest(name: str, email: str, phone: str = "+1 404 555 0101") -> dict[str, Any]:
    return {"name": name, "email": email, "phone": phone}


def phone_booking(
    client: TestClient, hour: int, who: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/desk/bookings",
        json={"product": "drive", "starts_at": at(MONDAY, hour).isoformat(), "guest": who},
        headers={"Idempotency-Key": key} if key else {},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_desk_api_books_by_phone_cancels_with_a_reason_and_blocks_a_car(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, cars=2, coaches=2)
    email = sign_in(client, session, "operations")
    ann = phone_booking(client, 10, guest("Ann Lee", "ann@example.com"))
    assert ann["channel"] == "phone" and ann["status"] == "confirmed"
    history = client.get(f"/api/v1/bookings/{ann['ref']}/history").json()
    assert history[0]["actor"] == f"user:{email}"
    bob = phone_booking(client, 10, guest("Bob Ray", "bob@example.com", "+1 404 555 0102"))
    cy = phone_booking(client, 14, guest("Cy Dee", "cy@example.com", ""), key="call-42")
    retried = client.post(
        "/api/v1/desk/bookings",
        json={
            "product": "drive",
            "starts_at": at(MONDAY, 14).isoformat(),
            "guest": guest("Cy Dee", "cy@example.com", ""),
        },
        headers={"Idempotency-Key": "call-42"},
    )
    assert retried.status_code == 200 and retried.json()["ref"] == cy["ref"]

    # No reason, no cancellation.
    problem = assert_problem(
        client.post(f"/api/v1/desk/bookings/{cy['ref']}/cancel", json={}), 422, "invalid"
    )
    assert "reason" in problem["detail"]
    assert client.get(f"/api/v1/bookings/{cy['ref']}").json()["status"] == "confirmed"

    # Car 1 breaks down: at 14:00 Car 2 is free (Cy moves), at 10:00 it is not (Ann stays).
    car1 = world.units["car"][0].id
    on_car1 = {
        b["ref"] for b in (ann, bob, cy) if any(r["unit_id"] == car1 for r in b["resources"])
    }
    assert cy["ref"] in on_car1 and len(on_car1) == 2
    blocked = client.post(
        f"/api/v1/desk/units/{car1}/block",
        json={
            "starts_at": at(MONDAY, 8).isoformat(),
            "ends_at": at(MONDAY, 18).isoformat(),
            "reason": "Warning light",
            "kind": "repair",
        },
    )
    assert blocked.status_code == 201, blocked.text
    report = blocked.json()
    assert [m["ref"] for m in report["moved"]] == [cy["ref"]]
    assert report["moved"][0]["from_unit"] == "Car 1" and report["moved"][0]["to_unit"] == "Car 2"
    [call] = report["to_call"]
    stranded = next(b for b in (ann, bob) if b["ref"] in on_car1)
    assert call["ref"] == stranded["ref"]
    assert call["guest_phone"] == stranded["guest"]["phone"] and call["guest_email"]

    sheet = client.get("/api/v1/desk/run-sheet", params={"site": "TST", "day": str(MONDAY)})
    lines = sheet.json()["lines"]
    assert [line["ref"] for line in lines][-1] == cy["ref"]
    assert "Car 2" in next(line for line in lines if line["ref"] == cy["ref"])["units"]

    cancelled = client.post(
        f"/api/v1/desk/bookings/{stranded['ref']}/cancel", json={"reason": "Car off the road"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    session.rollback()
    session.expire_all()
    assert service.get_booking(session, ref=stranded["ref"]).booking.cancel_reason == (
        "Car off the road"
    )


def test_coaches_read_the_run_sheet_but_do_not_act(client: TestClient, session: Session) -> None:
    make_world(session)
    sign_in(client, session, "coach")
    assert (
        client.get("/api/v1/desk/run-sheet", params={"site": "TST", "day": str(MONDAY)}).status_code
        == 200
    )
    refused = client.post(
        "/api/v1/desk/bookings",
        json={
            "product": "drive",
            "starts_at": at(MONDAY, 10).isoformat(),
            "guest": guest("Ann Lee", "ann@example.com"),
        },
    )
    assert refused.status_code == 403


def test_the_desk_command(
    paddock: Run,
    session: Session,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_world(session, cars=1, coaches=2)
    booked = paddock(
        "desk",
        "book",
        "drive",
        "--at",
        f"{MONDAY}T10:00",
        "--name",
        "Ann Lee",
        "--email",
        "ann@example.com",
        "--phone",
        "+1 404 555 0101",
    )
    assert booked.exit_code == 0, booked.output
    ref = booked.output.split()[0]
    assert service.get_booking(session, ref=ref).booking.channel == "phone"
    blocked = paddock(
        "desk",
        "block",
        "Car 1",
        "--from",
        f"{MONDAY}T08:00",
        "--to",
        f"{MONDAY}T18:00",
        "--reason",
        "Warning light",
    )
    assert blocked.exit_code == 0, blocked.output
    assert (
        "call" in blocked.output and ref in blocked.output and "+1 404 555 0101" in blocked.output
    )
    sheet = paddock("desk", "run-sheet", "--site", "TST", "--day", str(MONDAY))
    assert ref in sheet.output and "Ann Lee" in sheet.output
    code, _, err = run_main(
        database_url, ["desk", "cancel", ref, "--reason", "no"], capsys, monkeypatch
    )
    assert code != 0 and "Say why" in err and len(err.strip().splitlines()) == 1
    cancelled = paddock("desk", "cancel", ref, "--reason", "Car off the road")
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
