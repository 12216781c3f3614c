"""The operations desk's pages: a phone booking, a cancellation with its reason, a car
blocked with its bookings moved and the guests to call, the run sheet (page and PDF) and a
coach's own day; who may open each."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.capacity import coaches
from tests.factories import World
from tests.web.conftest import SignIn, csrf_from, local, tomorrow

FREE_START = re.compile(r'name="starts_at" value="([^"]+)"')


def book(db: Session, hh: int, name: str, phone: str = "") -> bookings.BookingResult:
    slug = name.split()[0].lower()
    return bookings.create_booking(
        db,
        product_code="drive",
        starts_at=local(tomorrow(), hh),
        guest=bookings.Guest(name, f"{slug}@example.com", phone),
    )


def test_operations_take_a_booking_by_phone(web: TestClient, sign_in: SignIn, db: Session) -> None:
    sign_in("operations")
    page = web.get(f"/ops/phone?site=TST&product=drive&day={tomorrow()}")
    assert page.status_code == 200 and "Coached drive" in page.text
    starts = FREE_START.findall(page.text)
    assert starts
    token = csrf_from(web, "/ops/phone")
    form = {
        "site": "TST",
        "product": "drive",
        "name": "Ann Lee",
        "email": "ann@example.com",
        "phone": "+1 404 555 0101",
        "notes": "First time on track",
        "csrf_token": token,
        "key": re.search(r'name="key" value="([^"]+)"', page.text).group(1),  # type: ignore[union-attr]
    }
    # No start chosen, a bad e-mail: the form comes back with what was typed.
    refused = web.post("/ops/phone", data=form | {"email": "ann@"})
    assert refused.status_code == 422
    assert 'value="Ann Lee"' in refused.text and "start time" in refused.text.lower()
    made = web.post("/ops/phone", data=form | {"starts_at": starts[0]})
    assert made.status_code == 303, made.text
    ref = made.headers["location"].rsplit("/", 1)[1]
    # Sent twice (a double click): the same booking.
    again = web.post("/ops/phone", data=form | {"starts_at": starts[0]})
    assert again.headers["location"] == made.headers["location"]
    shown = web.get(made.headers["location"])
    assert f"Booked {ref}" in shown.text and "phone" in shown.text
    result = bookings.get_booking(db, ref=ref)
    assert result.booking.channel == "phone" and result.booking.notes == "First time on track"
    assert bookings.history(db, ref=ref)[0].actor == "user:operations@example.com"


def test_a_cancellation_needs_its_reason(web: TestClient, sign_in: SignIn, db: Session) -> None:
    ref = book(db, 10, "Bob Ray").booking.ref
    sign_in("operations")
    token = csrf_from(web, f"/ops/bookings/{ref}")
    refused = web.post(f"/ops/bookings/{ref}/cancel", data={"reason": "", "csrf_token": token})
    assert "Say why" in web.get(refused.headers["location"]).text
    assert bookings.get_booking(db, ref=ref).status == "confirmed"
    done = web.post(
        f"/ops/bookings/{ref}/cancel", data={"reason": "Guest is ill", "csrf_token": token}
    )
    page = web.get(done.headers["location"])
    assert "is cancelled" in page.text and "Cancelled: Guest is ill" in page.text
    db.rollback()
    assert bookings.get_booking(db, ref=ref).booking.cancel_reason == "Guest is ill"


def test_blocking_a_car_moves_its_bookings_and_lists_the_guests_to_call(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    ann = book(db, 10, "Ann Lee", "+1 404 555 0101")
    bob = book(db, 10, "Bob Ray", "+1 404 555 0102")
    cy = book(db, 14, "Cy Dee")
    car1 = world.units["car"][0].id
    on_car1 = [b.booking.ref for b in (ann, bob) if car1 in {r.unit_id for r in b.resources}]
    sign_in("operations")
    fleet = web.get("/ops/fleet?site=TST")
    assert '<optgroup label="Cars">' in fleet.text
    page = web.post(
        "/ops/fleet/block-and-move",
        data={
            "site": "TST",
            "unit_id": car1,
            "starts_at": local(tomorrow(), 8).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": local(tomorrow(), 18).strftime("%Y-%m-%dT%H:%M"),
            "reason": "Warning light",
            "kind": "repair",
            "csrf_token": csrf_from(web, "/ops/fleet"),
        },
    )
    assert page.status_code == 200, page.text
    to_call = page.text.split('id="to-call"')[1].split("</table>")[0]
    assert on_car1 == [ann.booking.ref] or on_car1 == [bob.booking.ref]
    stranded = ann if on_car1 == [ann.booking.ref] else bob
    assert stranded.booking.ref in to_call and stranded.booking.guest_phone in to_call
    assert stranded.booking.guest_email in to_call
    moved = page.text.split('id="moved"')[1].split("</ul>")[0]
    assert cy.booking.ref in moved and "Car 2" in moved


def test_the_run_sheet_prints_and_downloads_as_pdf(
    web: TestClient, sign_in: SignIn, db: Session
) -> None:
    ref = book(db, 10, "Ann Lee", "+1 404 555 0101").booking.ref
    sign_in("coach")  # coaches read the run sheet
    page = web.get(f"/ops/run-sheet?site=TST&day={tomorrow()}")
    assert page.status_code == 200
    assert ref in page.text and "+1 404 555 0101" in page.text and "Car 1" in page.text
    pdf = web.get(f"/ops/run-sheet.pdf?site=TST&day={tomorrow()}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert web.get("/ops/phone").status_code == 403  # coaches do not book


def test_a_coach_sees_only_their_own_day(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    first = book(db, 10, "Ann Lee")
    second = book(db, 10, "Bob Ray")
    sign_in("coach")
    assert "not linked" in web.get("/ops/my-day").text
    coach = next(r.unit_id for r in first.resources if r.pool_id == world.pools["coach"].id)
    coaches.link_coach(db, email="coach@example.com", unit_id=coach, actor="test")
    day = web.get(f"/ops/my-day?day={tomorrow()}")
    assert first.booking.ref in day.text and second.booking.ref not in day.text
    assert (tomorrow() + timedelta(days=1)).isoformat() not in day.text
    sign_in("operations")
    assert web.get("/ops/my-day").status_code == 403
