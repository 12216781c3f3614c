"""Booking with a dealer's invitation from the guest pages: the personal link (/invite/<code>)
and a code typed on the details page; bad codes are explained."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts.service import Scope
from paddock.bookings import service as bookings
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Allocation
from paddock.dealers import service as dealers
from paddock.dealers.models import BookingAttribution, DealerAllotment, InvitationCode
from tests.factories import World, booking_units
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


def _dealer_places(db: Session) -> list[tuple[int, int]]:
    """The dealer's places taken, as (booking, unit)."""
    db.rollback()
    rows = db.execute(
        select(Allocation.engagement_id, Allocation.unit_id)
        .join(DealerAllotment, DealerAllotment.pool_id == Allocation.pool_id)
        .where(Allocation.active.is_(True))
    ).all()
    return [(int(b), int(u)) for b, u in rows]


def test_a_code_typed_on_the_details_page_keeps_the_booking(
    web: TestClient, db: Session, code: str
) -> None:
    link = hold(web)
    token = link.rsplit("/", 1)[1]
    held = bookings.get_by_token(db, token=token).booking
    units = booking_units(db, held.id)
    done = confirm(web, link, code=" spring-2026-k47 ")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == link  # type: ignore[attr-defined]
    page = web.get(link)
    assert "with the invitation of Peachtree Motors" in page.text
    db.rollback()
    booking = bookings.get_by_token(db, token=token).booking
    assert (booking.id, booking.ref) == (held.id, held.ref)
    assert booking.status == BookingStatus.CONFIRMED and booking.hold_expires_at is None
    assert booking.starts_at == held.starts_at and booking.guest_email == "ann@example.com"
    assert booking.channel == "invitation"
    assert db.scalar(select(func.count()).select_from(Booking)) == 1  # no second booking
    # The same units, plus one of the dealer's places, taken once.
    places = _dealer_places(db)
    assert [b for b, _ in places] == [booking.id]
    assert booking_units(db, booking.id) == sorted([*units, (_place_pool(db), places[0][1])])
    attribution = db.get(BookingAttribution, booking.id)
    assert attribution is not None and attribution.invitation_code_id is not None
    assert db.query(InvitationCode).filter_by(code=code).one().uses == 1
    # A form sent again changes nothing more.
    assert confirm(web, link, code=code).headers["location"] == link  # type: ignore[attr-defined]
    assert db.query(InvitationCode).filter_by(code=code).one().uses == 1
    assert len(_dealer_places(db)) == 1


def _place_pool(db: Session) -> int:
    return int(db.scalars(select(DealerAllotment.pool_id)).one())


def test_a_refused_code_leaves_the_hold_as_it_was(web: TestClient, db: Session, code: str) -> None:
    link = hold(web)
    token = link.rsplit("/", 1)[1]
    held = bookings.get_by_token(db, token=token).booking
    units = booking_units(db, held.id)
    db.query(InvitationCode).filter_by(code=code).update({"uses": 2})  # used up
    db.commit()
    refused = confirm(web, link, code=code)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert re.search(r'id="code-error">All 2 places', refused.text)  # type: ignore[attr-defined]
    db.rollback()
    after = bookings.get_by_token(db, token=token).booking
    assert (after.id, after.ref, after.status) == (held.id, held.ref, BookingStatus.HELD)
    assert after.hold_expires_at == held.hold_expires_at and after.guest_email == held.guest_email
    assert booking_units(db, held.id) == units
    assert _dealer_places(db) == [] and db.get(BookingAttribution, held.id) is None


def test_a_code_whose_dealer_has_no_place_left_leaves_the_hold(
    web: TestClient, db: Session, code: str
) -> None:
    dealers.set_allotment(
        db, dealer_code="D-ATL-001", site_code="TST", month=tomorrow(), places=0, actor="test"
    )
    link = hold(web)
    token = link.rsplit("/", 1)[1]
    held = bookings.get_by_token(db, token=token).booking
    units = booking_units(db, held.id)
    refused = confirm(web, link, code=code)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Peachtree Motors has no test-drive places left" in refused.text  # type: ignore[attr-defined]
    db.rollback()
    after = bookings.get_by_token(db, token=token).booking
    assert (after.ref, after.status) == (held.ref, BookingStatus.HELD)
    assert booking_units(db, held.id) == units
    assert db.query(InvitationCode).filter_by(code=code).one().uses == 0
    # Without the code the guest confirms the same hold.
    assert confirm(web, link).headers["location"] == link  # type: ignore[attr-defined]


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
