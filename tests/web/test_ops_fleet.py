"""Fleet status, maintenance blocks and closures from the operations console."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.capacity.models import Block
from tests.factories import World
from tests.web.conftest import SignIn, csrf_from, local, tomorrow


def form_time(day_offset: int, hh: int) -> str:
    return local(tomorrow() + timedelta(days=day_offset), hh).strftime("%Y-%m-%dT%H:%M")


def test_fleet_page_shows_units_and_their_state(web: TestClient, sign_in: SignIn) -> None:
    sign_in("coach")
    page = web.get("/ops/fleet?site=TST")
    assert page.status_code == 200
    assert "Car 1" in page.text and "Rig 1" in page.text and "Coach 1" in page.text
    assert "Block unit" not in page.text  # coaches read only


def test_block_a_car_then_remove_it(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    sign_in("operations")
    token = csrf_from(web)
    car = world.units["car"][0]
    made = web.post(
        "/ops/fleet/blocks",
        data={
            "site": "TST",
            "unit_id": car.id,
            "starts_at": form_time(1, 9),
            "ends_at": form_time(1, 17),
            "reason": "Brake service",
            "kind": "maintenance",
            "csrf_token": token,
        },
    )
    assert made.status_code == 303
    page = web.get(made.headers["location"])
    assert "Blocked (maintenance)" in page.text and "Brake service" in page.text
    db.rollback()
    block = db.query(Block).filter_by(unit_id=car.id).one()
    assert block.starts_at == local(tomorrow() + timedelta(days=1), 9)
    removed = web.post(
        f"/ops/fleet/blocks/{block.id}/remove", data={"site": "TST", "csrf_token": token}
    )
    assert "can be booked again" in web.get(removed.headers["location"]).text
    db.rollback()
    assert db.query(Block).filter_by(unit_id=car.id).count() == 0


def test_a_closure_over_bookings_is_refused_with_their_names(
    web: TestClient, sign_in: SignIn, db: Session
) -> None:
    booked = bookings.create_booking(
        db,
        product_code="drive",
        starts_at=local(tomorrow(), 10),
        guest=bookings.Guest("A B", "a@example.com"),
    )
    sign_in("operations")
    refused = web.post(
        "/ops/fleet/closures",
        data={
            "site": "TST",
            "starts_at": form_time(0, 8),
            "ends_at": form_time(0, 20),
            "reason": "Storm",
            "csrf_token": csrf_from(web),
        },
    )
    page = web.get(refused.headers["location"])
    assert booked.booking.ref in page.text and "alert--error" in page.text
    bad = web.post(
        "/ops/fleet/closures",
        data={"site": "TST", "starts_at": "soon", "ends_at": "later", "csrf_token": csrf_from(web)},
    )
    assert "is not a date and time" in web.get(bad.headers["location"]).text
