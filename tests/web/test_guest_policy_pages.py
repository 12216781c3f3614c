"""The guest pages and the booking policy: the cancellation policy shown before booking and
in the confirmation, enforced on the manage page; the terms required and marketing optional
on the details form, recorded as CRM consents; a personal invitation prefills the guest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts.service import Scope
from paddock.bookings import service as bookings
from paddock.bookings.models import BookingStatus
from paddock.catalog import service as catalog
from paddock.catalog.policy import set_policy
from paddock.crm import booking_consents
from paddock.crm.models import Person, PersonConsent
from paddock.dealers import service as dealers
from paddock.web.guest import invitations as guest_invitations
from tests.factories import World
from tests.web.conftest import csrf_from, tomorrow
from tests.web.test_guest_pages import STARTS, confirm, hold

PHONE = "+1 404-555-0134"


def _strict_policy(db: Session, world: World) -> None:
    """Free until 72 hours before: tomorrow's bookings are past it."""
    world.site.phone = PHONE
    db.commit()
    set_policy(db, product_code="drive", free_hours=72, late_fee=Decimal("120"), actor="test")
    catalog.invalidate_cache()


def test_the_policy_is_shown_before_booking_and_in_the_confirmation(
    web: TestClient, db: Session, world: World
) -> None:
    _strict_policy(db, world)
    page = web.get("/book/drive")
    assert "Free cancellation up to 3 days before the start." in page.text
    assert f"cancellations are by phone on {PHONE} and $120.00 is charged" in page.text
    link = hold(web)
    details = web.get(f"{link}/details")
    assert "Free cancellation until" in details.text
    assert 'name="terms"' in details.text and 'name="marketing"' in details.text
    assert booking_consents.TERMS_TEXT in details.text
    assert confirm(web, link).status_code == 303  # type: ignore[attr-defined]
    manage = web.get(link)
    assert "Free cancellation until" in manage.text
    # Tomorrow is inside the 72 hours: no cancelling online, and whom to call instead.
    assert f'href="{link}/cancel"' not in manage.text
    assert "cannot be cancelled online" in manage.text and PHONE in manage.text
    assert web.get(f"{link}/cancel").status_code == 303
    refused = web.post(f"{link}/cancel", data={"csrf_token": csrf_from(web), "reason": "x"})
    assert refused.status_code == 303
    after = web.get(link)
    assert "cannot be cancelled online" in after.text
    token = link.rsplit("/", 1)[1]
    assert bookings.get_by_token(db, token=token).status == BookingStatus.CONFIRMED


def test_inside_the_policy_the_guest_cancels(web: TestClient, db: Session) -> None:
    link = hold(web)
    assert confirm(web, link).status_code == 303  # type: ignore[attr-defined]
    assert f'href="{link}/cancel"' in web.get(link).text  # free until the start (factory)
    done = web.post(f"{link}/cancel", data={"csrf_token": csrf_from(web), "reason": ""})
    assert done.status_code == 303
    token = link.rsplit("/", 1)[1]
    assert bookings.get_by_token(db, token=token).status == BookingStatus.CANCELLED


def test_the_terms_are_required(web: TestClient, db: Session) -> None:
    link = hold(web)
    refused = confirm(web, link, terms="")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Please accept the booking terms to book." in refused.text  # type: ignore[attr-defined]
    token = link.rsplit("/", 1)[1]
    assert bookings.get_by_token(db, token=token).status == BookingStatus.HELD
    assert db.scalar(select(PersonConsent.id)) is None


def test_consents_are_recorded_on_the_person(web: TestClient, db: Session) -> None:
    link = hold(web)
    assert confirm(web, link, marketing="on").status_code == 303  # type: ignore[attr-defined]
    person = db.scalar(select(Person).where(Person.email == "ann@example.com"))
    consents = db.scalars(select(PersonConsent)).all()
    assert person is not None, [(c.purpose, c.person_id) for c in consents]
    assert person.consent_marketing_email
    rows = db.scalars(select(PersonConsent).where(PersonConsent.person_id == person.id)).all()
    assert {(r.purpose, r.granted, r.version) for r in rows} == {
        ("terms", True, booking_consents.TERMS_VERSION),
        ("marketing_email", True, booking_consents.MARKETING_VERSION),
    }
    assert all(r.source.startswith("booking form ") and r.recorded_at for r in rows)
    # A second booking without the marketing box records the terms again, and never
    # withdraws the marketing consent.
    second = hold(web, index=3)
    assert confirm(web, second).status_code == 303  # type: ignore[attr-defined]
    db.rollback()  # a fresh read
    assert db.get(Person, person.id).consent_marketing_email  # type: ignore[union-attr]
    purposes = db.scalars(
        select(PersonConsent.purpose).where(PersonConsent.person_id == person.id)
    ).all()
    assert sorted(purposes) == ["marketing_email", "terms", "terms"]


def test_a_personal_invitation_prefills_the_guest(web: TestClient, db: Session) -> None:
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
    row = dealers.add_invitee(
        db,
        scope=everything,
        campaign_id=campaign.id,
        name="Grace Hopper",
        email="grace@example.com",
    )
    typed = row.code.lower().replace("-", " ")
    day = web.get(f"/invite/{typed}/book/drive?day={tomorrow().isoformat()}")
    assert day.status_code == 200, day.text
    held = web.post(
        f"/invite/{row.code}/book/drive/hold",
        data={"starts_at": STARTS.findall(day.text)[0], "csrf_token": csrf_from(web)},
    )
    assert held.status_code == 303, held.text
    details = web.get(held.headers["location"])
    assert 'value="Grace Hopper"' in details.text and 'value="grace@example.com"' in details.text
    token = held.headers["location"].split("/")[2]
    booking_id = bookings.get_by_token(db, token=token).booking.id
    assert guest_invitations.invitee_details(db, booking_id)["name"] == "Grace Hopper"
