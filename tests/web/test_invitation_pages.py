"""Booking with a dealer's invitation from the guest pages: the personal link (/invite/<code>)
and a code typed on the details page; bad codes are explained."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from paddock.accounts.service import Scope
from paddock.bookings import service as bookings
from paddock.bookings.models import BookingStatus
from paddock.dealers import service as dealers
from paddock.dealers.models import BookingAttribution, InvitationCode
from tests.factories import World
from tests.web.conftest import csrf_from, tomorrow
from tests.web.test_guest_pages import STARTS, confirm, hold


@pytest.fixture
def code(db: Session, world: World) -> str:
    everything = Scope.everything("test")
    dealers.create_dealer(
        db,
        code="D-ATL-001",
        name="Peachtree Motors",
        city="Atlanta",
        state="GA",
        region="Southeast",
        monthly_allotment=3,
    )
    campaign = dealers.create_campaign(
        db,
        scope=everything,
        dealer_code="D-ATL-001",
        name="Spring drive",
        products=["drive"],
        drive_from=tomorrow(),
        drive_to=tomorrow() + timedelta(days=20),
    )
    dealers.create_code(
        db, scope=everything, campaign_id=campaign.id, code="SPRING-2026-K47", max_uses=2
    )
    return "SPRING-2026-K47"


def test_the_personal_link_books_with_attribution(web: TestClient, db: Session, code: str) -> None:
    page = web.get(f"/invite/{code.lower()}")
    assert page.status_code == 200
    assert "invited by Peachtree Motors" in page.text and "Coached drive" in page.text
    day = web.get(f"/invite/{code}/book/drive?day={tomorrow().isoformat()}")
    assert day.status_code == 200 and "Peachtree Motors" in day.text
    first = STARTS.findall(day.text)[0]
    held = web.post(
        f"/invite/{code}/book/drive/hold", data={"starts_at": first, "csrf_token": csrf_from(web)}
    )
    assert held.status_code == 303, held.text
    link = held.headers["location"].removesuffix("/details")
    details = web.get(f"{link}/details")
    assert "Booked with the invitation of" in details.text and 'name="code"' not in details.text
    assert confirm(web, link).status_code == 303  # type: ignore[attr-defined]
    manage = web.get(link)
    assert "Invited by" in manage.text and "Peachtree Motors" in manage.text
    booking = bookings.get_by_token(db, token=link.rsplit("/", 1)[1]).booking
    assert booking.status == BookingStatus.CONFIRMED and booking.channel == "invitation"
    assert db.get(BookingAttribution, booking.id) is not None


def test_a_code_typed_on_the_details_page(web: TestClient, db: Session, code: str) -> None:
    link = hold(web)
    done = confirm(web, link, code=" spring-2026-k47 ")
    assert done.status_code == 303  # type: ignore[attr-defined]
    new_link = done.headers["location"]  # type: ignore[attr-defined]
    assert new_link != link
    page = web.get(new_link)
    assert "with the invitation of Peachtree Motors" in page.text
    db.rollback()
    old = bookings.get_by_token(db, token=link.rsplit("/", 1)[1]).booking
    new = bookings.get_by_token(db, token=new_link.rsplit("/", 1)[1]).booking
    assert old.status == BookingStatus.CANCELLED and new.status == BookingStatus.CONFIRMED
    assert new.starts_at == old.starts_at and new.guest_email == "ann@example.com"
    assert db.get(BookingAttribution, new.id) is not None
    assert db.query(InvitationCode).filter_by(code=code).one().uses == 1


def test_bad_codes_are_explained(web: TestClient, db: Session, code: str) -> None:
    unknown = web.get("/invite/NOPE-NOPE")
    assert unknown.status_code == 404 and "We do not know this invitation code" in unknown.text
    assert web.get("/invite?code=spring 2026").headers["location"] == "/invite/SPRING2026"
    link = hold(web)
    refused = confirm(web, link, code="NOPE-NOPE")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert re.search(r'id="code-error">We do not know', refused.text)  # type: ignore[attr-defined]
    # The hold is untouched: the guest can still confirm without a code.
    assert confirm(web, link).status_code == 303  # type: ignore[attr-defined]
    db.query(InvitationCode).filter_by(code=code).update({"uses": 2})
    db.commit()
    used_up = web.get(f"/invite/{code}")
    assert used_up.status_code == 409 and "places of this invitation are taken" in used_up.text
