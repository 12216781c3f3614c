"""The operations console through the TestClient: who may open it, the timeline, search and
scan, check-in, no-show, moving a booking in time or to another car."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.bookings.models import BookingStatus
from paddock.web.guest.qr import check_in_token
from tests.factories import World
from tests.web.conftest import PASSWORD, SECRET, SignIn, csrf_from, local, next_start, tomorrow

GUEST = bookings.Guest("Grace Hopper", "grace@example.com", "+1 404 555 0102")


def book_soon(db: Session) -> str:
    """A booking tomorrow at 10:00 New York time."""
    result = bookings.create_booking(
        db, product_code="drive", starts_at=local(tomorrow(), 10), guest=GUEST
    )
    return result.booking.ref


@pytest.mark.parametrize("path", ["/ops", "/ops/bookings", "/ops/bookings/PNOSUCH1"])
def test_signed_out_visitors_are_sent_to_sign_in(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_htmx_requests_are_redirected_by_header(web: TestClient) -> None:
    response = web.get("/ops", headers={"hx-request": "true"})
    assert response.status_code == 204 and response.headers["hx-redirect"].startswith("/login")


@pytest.mark.parametrize("role", ["operations", "admin", "coach"])
def test_staff_roles_open_the_console(web: TestClient, sign_in: SignIn, role: str) -> None:
    sign_in(role)
    for path in ("/ops", "/ops/bookings", "/ops?site=TST&day=" + tomorrow().isoformat()):
        assert web.get(path).status_code == 200, path


def test_other_roles_get_a_forbidden_page(web: TestClient, sign_in: SignIn) -> None:
    sign_in("motorsport")
    response = web.get("/ops")
    assert response.status_code == 403
    assert "operations staff" in response.text and "text/html" in response.headers["content-type"]


def test_coaches_cannot_act(web: TestClient, sign_in: SignIn, db: Session) -> None:
    ref = book_soon(db)
    sign_in("coach")
    page = web.get(f"/ops/bookings/{ref}")
    assert page.status_code == 200 and "Check in</button>" not in page.text
    refused = web.post(f"/ops/bookings/{ref}/no-show", data={"csrf_token": csrf_from(web)})
    assert refused.status_code == 403


def test_sign_in_refusals_and_safe_next(web: TestClient, sign_in: SignIn, db: Session) -> None:
    sign_in("operations")  # creates the user
    web.post("/logout", data={"csrf_token": csrf_from(web)})
    token = csrf_from(web)
    wrong = web.post(
        "/login",
        data={"email": "operations@example.com", "password": "nope-nope-nope", "csrf_token": token},
    )
    assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.text
    assert 'value="nope' not in wrong.text
    evil = web.post(
        "/login",
        data={
            "email": "operations@example.com",
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": token,
        },
    )
    assert evil.status_code == 303 and evil.headers["location"] == "/ops"
    assert "paddock_session" in evil.headers["set-cookie"]
    out = web.post("/logout", data={"csrf_token": csrf_from(web)})
    assert out.status_code == 303 and web.get("/ops").status_code == 303


def test_timeline_shows_units_and_bookings(web: TestClient, sign_in: SignIn, db: Session) -> None:
    ref = book_soon(db)
    sign_in("operations")
    page = web.get(f"/ops?site=TST&day={tomorrow().isoformat()}")
    assert page.status_code == 200
    for label in ("Car 1", "Coach 1", "Position 1", "Rig 1"):
        assert label in page.text
    assert f'href="/ops/bookings/{ref}"' in page.text and "Hopper" in page.text
    assert re.search(r'class="timeline ticks-\d+"', page.text)
    assert re.search(r"gs-\d+ ge-\d+", page.text)
    assert "ops/timeline." in page.text  # the grid stylesheet, fingerprinted
    part = web.get(f"/ops?site=TST&day={tomorrow().isoformat()}", headers={"hx-request": "true"})
    assert part.text.lstrip().startswith('<section id="timeline"') and "<html" not in part.text
    assert web.get("/ops?day=not-a-date").status_code == 422
    assert web.get("/ops?site=NOPE").status_code == 404


def test_search_and_scan_find_the_booking(web: TestClient, sign_in: SignIn, db: Session) -> None:
    ref = book_soon(db)
    sign_in("operations")
    by_name = web.get("/ops/bookings?q=hopper")
    assert by_name.status_code == 200 and ref in by_name.text
    by_ref = web.get(f"/ops/bookings?q={ref.lower()}")
    assert by_ref.status_code == 303 and by_ref.headers["location"] == f"/ops/bookings/{ref}"
    # A handheld scanner types the QR code's URL into the search box.
    scanned_text = f"http://testserver/ops/scan/{check_in_token(SECRET, ref)}"
    by_scan = web.get("/ops/bookings", params={"q": scanned_text})
    assert by_scan.headers["location"] == f"/ops/bookings/{ref}"
    scan = web.get(f"/ops/scan/{check_in_token(SECRET, ref)}")
    assert scan.headers["location"] == f"/ops/bookings/{ref}?scanned=1"
    assert "Check-in code verified" in web.get(scan.headers["location"]).text
    assert web.get("/ops/scan/forged-token").status_code == 404
    assert "No booking matches" in web.get("/ops/bookings?q=nobody-here").text


def test_check_in_and_no_show_follow_the_rules(
    web: TestClient, sign_in: SignIn, db: Session
) -> None:
    ref = book_soon(db)  # tomorrow: too early to check in, not yet a no-show
    sign_in("operations")
    token = csrf_from(web)
    early = web.post(f"/ops/bookings/{ref}/check-in", data={"csrf_token": token})
    assert early.status_code == 303
    assert "can be checked in from 3 hours before" in web.get(early.headers["location"]).text
    no_show = web.post(f"/ops/bookings/{ref}/no-show", data={"csrf_token": token})
    assert "has not started yet" in web.get(no_show.headers["location"]).text
    soon = bookings.create_booking(db, product_code="drive", starts_at=next_start(), guest=GUEST)
    soon_ref = soon.booking.ref
    done = web.post(f"/ops/bookings/{soon_ref}/check-in", data={"csrf_token": token})
    assert f"{soon_ref} is checked in" in web.get(done.headers["location"]).text
    db.rollback()
    assert bookings.get_booking(db, ref=soon_ref).booking.status == BookingStatus.CHECKED_IN
    page = web.get(f"/ops/bookings/{soon_ref}")
    assert "Mark completed" in page.text and "Check in</button>" not in page.text


def test_move_to_another_time_and_swap_the_car(
    web: TestClient, sign_in: SignIn, db: Session, world: World
) -> None:
    ref = book_soon(db)
    sign_in("operations")
    token = csrf_from(web)
    page = web.get(f"/ops/bookings/{ref}?move_day={tomorrow().isoformat()}")
    starts = re.findall(r'name="starts_at" value="([^"]+)"', page.text)
    target = next(s for s in starts if datetime.fromisoformat(s) == local(tomorrow(), 14))
    moved = web.post(f"/ops/bookings/{ref}/move", data={"starts_at": target, "csrf_token": token})
    assert f"{ref} is moved" in web.get(moved.headers["location"]).text
    db.rollback()
    result = bookings.get_booking(db, ref=ref)
    assert result.booking.starts_at == local(tomorrow(), 14)
    car = next(r for r in result.resources if r.unit_label.startswith("Car"))
    other = next(u for u in world.units["car"] if u.id != car.unit_id)
    page = web.get(f"/ops/bookings/{ref}")
    assert f'<option value="{other.id}">{other.label}</option>' in page.text
    swapped = web.post(
        f"/ops/bookings/{ref}/swap",
        data={"from_unit": car.unit_id, "to_unit": other.id, "csrf_token": token},
    )
    assert "now has another unit" in web.get(swapped.headers["location"]).text
    db.rollback()
    assert any(r.unit_id == other.id for r in bookings.get_booking(db, ref=ref).resources)
    history = web.get(f"/ops/bookings/{ref}").text
    assert "unit swapped" in history and "moved" in history


def test_a_reference_without_digits_is_still_found(
    web: TestClient, sign_in: SignIn, db: Session
) -> None:
    ref = book_soon(db)
    db.execute(text("UPDATE booking SET ref = 'PKXWRTMN' WHERE ref = :ref"), {"ref": ref})
    db.commit()
    sign_in("operations")
    found = web.get("/ops/bookings?q=pkxwrtmn")
    assert found.status_code == 303 and found.headers["location"] == "/ops/bookings/PKXWRTMN"
    # A word that looks like a reference but is a name falls back to the name search.
    assert "Grace Hopper" in web.get("/ops/bookings?q=hopper").text
