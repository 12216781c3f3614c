"""Guest pages through the TestClient: choose, hold, confirm, manage, move, cancel, and the
refusals a guest can meet (full slot, expired hold, invalid code, unknown link)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.bookings.models import BookingStatus
from paddock.catalog import service as catalog_service
from paddock.catalog.models import Product
from paddock.web.guest import qr
from tests.factories import World
from tests.web.conftest import SECRET, csrf_from, local, tomorrow

STARTS = re.compile(r'name="starts_at" value="([^"]+)"')


def hold(web: TestClient, day_iso: str | None = None, index: int = 0) -> str:
    """Choose a time on the calendar; returns the private link of the hold."""
    page = web.get(f"/book/drive?day={day_iso or tomorrow().isoformat()}")
    starts = STARTS.findall(page.text)
    token = csrf_from(web)
    response = web.post("/book/drive/hold", data={"starts_at": starts[index], "csrf_token": token})
    assert response.status_code == 303, response.text
    return response.headers["location"].removesuffix("/details")


def confirm(web: TestClient, link: str, **fields: str) -> object:
    data = {"name": "Ann Lee", "email": "ann@example.com", "phone": "+1 404 555 0101"}
    data["terms"] = "on"  # the booking terms are required
    data.update(fields)
    data["csrf_token"] = csrf_from(web)
    return web.post(f"{link}/details", data=data)


def test_home_lists_experiences_by_site(web: TestClient) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert "Coached drive" in page.text and 'href="/book/drive"' in page.text
    assert "<main" in page.text and 'lang="en"' in page.text


def test_calendar_shows_free_days_and_greys_the_rest(web: TestClient) -> None:
    page = web.get("/book/drive")
    assert page.status_code == 200
    assert "day--open" in page.text
    assert "In the past" in page.text or datetime.now(UTC).day <= 2
    part = web.get(
        "/book/drive?month=" + tomorrow().strftime("%Y-%m"), headers={"hx-request": "true"}
    )
    assert part.status_code == 200 and part.text.lstrip().startswith('<section id="picker"')
    day = web.get(f"/book/drive?day={tomorrow().isoformat()}")
    assert len(STARTS.findall(day.text)) >= 10
    assert "Times are local to the centre (America/New_York)" in day.text


def test_full_days_and_slots_say_why(web: TestClient, db: Session, world: World) -> None:
    day = tomorrow()
    for hh in range(8, 17):
        for _ in range(2):
            try:
                bookings.create_booking(
                    db,
                    product_code="drive",
                    starts_at=local(day, hh),
                    guest=bookings.Guest("X Y", "x@example.com"),
                )
            except Exception:
                break
    page = web.get(f"/book/drive?day={day.isoformat()}")
    reasons = ("Fully booked: no cars free", "Fully booked: no driving coaches free")
    assert any(reason in page.text for reason in reasons)
    assert "no Cars" not in page.text and "Coachs" not in page.text  # internal names


def test_a_guest_books_then_manages(web: TestClient, db: Session) -> None:
    link = hold(web)
    details = web.get(f"{link}/details")
    assert details.status_code == 200
    assert "data-countdown=" in details.text and "We are holding this time" in details.text
    done = confirm(web, link)
    assert done.status_code == 303 and done.headers["location"] == link
    manage = web.get(link)
    assert manage.status_code == 200
    assert "You&#39;re booked" in manage.text or "You're booked" in manage.text
    assert "Your booking is confirmed" in manage.text  # the flash, once
    assert "Your booking is confirmed" not in web.get(link).text
    assert "arrive 30 minutes early" in manage.text
    ref = re.search(r'<dd class="ref">(P[A-Z0-9]{7})</dd>', manage.text).group(1)  # type: ignore[union-attr]
    booking = bookings.get_booking(db, ref=ref).booking
    assert booking.status == BookingStatus.CONFIRMED and booking.guest_email == "ann@example.com"
    assert booking.channel == "web"


def test_calendar_file(web: TestClient, db: Session) -> None:
    link = hold(web)
    confirm(web, link)
    response = web.get(f"{link}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    ref = str(event["UID"])
    booking = bookings.get_booking(db, ref=ref).booking
    assert event.decoded("DTSTART") == booking.starts_at
    assert event.decoded("DTSTART").tzinfo.key == "America/New_York"  # type: ignore[union-attr]
    assert event.decoded("DTEND") == booking.ends_at
    assert "Test centre, Testville" in str(event["LOCATION"])
    assert "30 minutes early" in str(event["DESCRIPTION"])
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "America/New_York"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_check_in_code_is_a_signed_url(web: TestClient, db: Session) -> None:
    link = hold(web)
    confirm(web, link)
    response = web.get(f"{link}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    ref = bookings.get_by_token(db, token=link.rsplit("/", 1)[1]).booking.ref
    assert f"Check-in code for booking {ref}".encode() in response.content
    expected_url = f"http://testserver/ops/scan/{qr.check_in_token(SECRET, ref)}"
    assert response.content == qr.qr_svg(expected_url, title=f"Check-in code for booking {ref}")
    assert qr.ref_from_token(SECRET, qr.check_in_token(SECRET, ref)) == ref
    assert qr.ref_from_token("another-secret", qr.check_in_token(SECRET, ref)) is None


def test_details_are_validated_field_by_field(web: TestClient) -> None:
    link = hold(web)
    response = confirm(web, link, name="  ", email="not-an-email", phone="call me")
    assert response.status_code == 422  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert 'id="name-error"' in text and 'id="email-error"' in text and 'id="phone-error"' in text
    assert 'aria-invalid="true"' in text and 'value="not-an-email"' in text


def test_an_invitation_code_that_cannot_be_used_is_refused_next_to_the_field(
    web: TestClient,
) -> None:
    link = hold(web)
    response = confirm(web, link, code="NOSUCHCODE")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert 'id="code-error"' in response.text  # type: ignore[attr-defined]


def test_an_expired_hold_sends_the_guest_back_with_a_reason(web: TestClient, db: Session) -> None:
    now = datetime.now(UTC)
    start = local(tomorrow(), 11).astimezone(UTC)
    held = bookings.create_booking(
        db,
        product_code="drive",
        starts_at=start,
        guest=bookings.Guest("Guest", "hold@paddock.invalid"),
        hold=True,
        hold_minutes=1,
        now=now - timedelta(minutes=5),
    )
    link = f"/b/{held.booking.manage_token}"
    response = confirm(web, link)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"].startswith("/book/drive?")  # type: ignore[attr-defined]
    page = web.get(response.headers["location"])  # type: ignore[attr-defined]
    assert "the hold has expired" in page.text


def test_a_slot_taken_meanwhile_is_explained(web: TestClient, db: Session, world: World) -> None:
    day = tomorrow()
    page = web.get(f"/book/drive?day={day.isoformat()}")
    first = STARTS.findall(page.text)[0]
    start = datetime.fromisoformat(first)
    for _ in range(2):  # both cars
        bookings.create_booking(
            db, product_code="drive", starts_at=start, guest=bookings.Guest("A B", "a@example.com")
        )
    token = csrf_from(web)
    response = web.post("/book/drive/hold", data={"starts_at": first, "csrf_token": token})
    assert response.status_code == 303 and "day=" in response.headers["location"]
    again = web.get(response.headers["location"])
    assert "that time has just been taken" in again.text and "none free then" in again.text


def test_move_and_cancel_through_the_private_link(web: TestClient, db: Session) -> None:
    link = hold(web)
    confirm(web, link)
    token = link.rsplit("/", 1)[1]
    before = bookings.get_by_token(db, token=token).booking.starts_at
    move_page = web.get(f"{link}/move?day={tomorrow().isoformat()}")
    assert move_page.status_code == 200 and "Move booking" in move_page.text
    later = [s for s in STARTS.findall(move_page.text) if datetime.fromisoformat(s) > before]
    moved = web.post(f"{link}/move", data={"starts_at": later[1], "csrf_token": csrf_from(web)})
    assert moved.status_code == 303 and moved.headers["location"] == link
    db.rollback()
    assert bookings.get_by_token(db, token=token).booking.starts_at == datetime.fromisoformat(
        later[1]
    )
    assert "moved to" in web.get(link).text
    assert web.get(f"{link}/cancel").status_code == 200
    cancelled = web.post(f"{link}/cancel", data={"reason": "ill", "csrf_token": csrf_from(web)})
    assert cancelled.status_code == 303
    page = web.get(link)
    assert "This booking is cancelled" in page.text and "/cancel" not in page.text
    db.rollback()
    assert bookings.get_by_token(db, token=token).booking.status == BookingStatus.CANCELLED
    again = web.post(f"{link}/cancel", data={"csrf_token": csrf_from(web)})
    assert again.status_code == 303


def test_unknown_links_and_private_products_are_not_found(web: TestClient, db: Session) -> None:
    page = web.get("/b/not-a-real-token")
    assert page.status_code == 404 and "This booking link is not valid" in page.text
    product = db.query(Product).filter_by(code="sim").one()
    product.public = False
    db.commit()
    catalog_service.invalidate_cache()
    assert web.get("/book/sim").status_code == 404
