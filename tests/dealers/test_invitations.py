"""Booking with an invitation code: attribution, allotment, and every way a code is refused."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.db import utcnow
from paddock.dealers import service
from paddock.dealers.errors import (
    AllotmentExhausted,
    InvitationExpired,
    InvitationNotFound,
    InvitationNotValidForDate,
    InvitationNotValidForProduct,
    InvitationUsedUp,
)
from paddock.dealers.models import BookingAttribution, InvitationCode
from tests.dealers.conftest import STAFF, make_dealer_world, scope_of
from tests.factories import MONDAY, at

GUEST = bookings.Guest("Ann Lee", "ann@example.com")
NOW = at(MONDAY, 7) - timedelta(days=3)


def test_booking_with_code_is_attributed_and_counts_the_use(session: Session) -> None:
    dw = make_dealer_world(session)
    code = service.create_code(
        session,
        scope=scope_of(dw.north),
        campaign_id=dw.campaign.id,
        code="summer-gt-k47",
        max_uses=3,
    )
    result = service.book_with_code(
        session,
        code=" summer-GT-k47 ",
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        now=NOW,
    )
    attribution = session.get(BookingAttribution, result.booking.id)
    assert attribution is not None
    assert attribution.dealer_id == dw.north.id
    assert attribution.invitation_code_id == code.id
    assert attribution.invitee_id is None
    assert session.get(InvitationCode, code.id).uses == 1  # type: ignore[union-attr]
    # The dealer's place is one more resource of the booking, held over the whole month.
    place = [r for r in result.resources if r.unit_label.startswith("D-NYC-001")]
    assert len(place) == 1
    assert place[0].starts_at <= at(MONDAY.replace(day=1), 0) + timedelta(hours=1)
    assert place[0].ends_at > at(MONDAY.replace(day=30), 23)


def test_unknown_forged_and_malformed_codes_are_not_found(session: Session) -> None:
    dw = make_dealer_world(session)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="REAL-CODE-K47")
    for text in ("REAL-CODX", "", "   ", "x", "REAL CODE!", "' OR 1=1 --", "R" * 200):
        with pytest.raises(InvitationNotFound):
            service.book_with_code(
                session,
                code=text,
                product_code="drive",
                starts_at=at(MONDAY, 10),
                guest=GUEST,
                now=NOW,
            )
    assert session.scalar(select(func.count()).select_from(BookingAttribution)) == 0


def test_single_use_code_then_used_up(session: Session) -> None:
    dw = make_dealer_world(session)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="ONCE-ONLY-K47")
    service.book_with_code(
        session,
        code="once-only-k47",
        product_code="drive",
        starts_at=at(MONDAY, 10),
        guest=GUEST,
        now=NOW,
    )
    with pytest.raises(InvitationUsedUp):
        service.book_with_code(
            session,
            code="ONCE-ONLY-K47",
            product_code="drive",
            starts_at=at(MONDAY, 12),
            guest=GUEST,
            now=NOW,
        )


def test_expired_revoked_and_closed_codes(session: Session) -> None:
    dw = make_dealer_world(session)
    service.create_code(
        session,
        scope=STAFF,
        campaign_id=dw.campaign.id,
        code="SOON-GONE-K47",
        expires_at=NOW + timedelta(hours=1),
        now=NOW,
    )
    with pytest.raises(InvitationExpired, match="expired"):
        service.book_with_code(
            session,
            code="SOON-GONE-K47",
            product_code="drive",
            starts_at=at(MONDAY, 10),
            guest=GUEST,
            now=NOW + timedelta(hours=2),
        )
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="WITHDRAWN-K47")
    service.revoke_code(session, scope=scope_of(dw.north), code="withdrawn-k47")
    with pytest.raises(InvitationExpired, match="withdrawn"):
        service.book_with_code(
            session,
            code="WITHDRAWN-K47",
            product_code="drive",
            starts_at=at(MONDAY, 10),
            guest=GUEST,
            now=NOW,
        )
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="CLOSED-CAMP-K47")
    service.archive_campaign(session, scope=STAFF, campaign_id=dw.campaign.id)
    with pytest.raises(InvitationExpired, match="ended"):
        service.book_with_code(
            session,
            code="CLOSED-CAMP-K47",
            product_code="drive",
            starts_at=at(MONDAY, 10),
            guest=GUEST,
            now=NOW,
        )


def test_other_product_and_other_dates_are_refused(session: Session) -> None:
    dw = make_dealer_world(session)
    service.create_code(
        session,
        scope=STAFF,
        campaign_id=dw.campaign.id,
        code="WEEK-ONE-K47",
        drive_from=MONDAY,
        drive_to=MONDAY + timedelta(days=6),
    )
    with pytest.raises(InvitationNotValidForProduct):
        service.book_with_code(
            session,
            code="WEEK-ONE-K47",
            product_code="sim",
            starts_at=at(MONDAY, 10),
            guest=GUEST,
            now=NOW,
        )
    with pytest.raises(InvitationNotValidForDate):
        service.book_with_code(
            session,
            code="WEEK-ONE-K47",
            product_code="drive",
            starts_at=at(MONDAY + timedelta(days=7), 10),
            guest=GUEST,
            now=NOW,
        )
    with pytest.raises(InvitationNotValidForDate):
        service.book_with_code(
            session,
            code="WEEK-ONE-K47",
            product_code="drive",
            starts_at=at(MONDAY - timedelta(days=1), 10),
            guest=GUEST,
            now=NOW,
        )
    code = session.scalar(select(InvitationCode).where(InvitationCode.code == "WEEK-ONE-K47"))
    assert code is not None and code.uses == 0


def test_allotment_is_enforced_per_month(session: Session) -> None:
    dw = make_dealer_world(session, places=2)
    service.create_code(
        session, scope=STAFF, campaign_id=dw.campaign.id, code="OPEN-DOOR-K47", max_uses=None
    )
    for hour in (9, 11):
        service.book_with_code(
            session,
            code="OPEN-DOOR-K47",
            product_code="drive",
            starts_at=at(MONDAY, hour),
            guest=GUEST,
            now=NOW,
        )
    with pytest.raises(AllotmentExhausted, match="June 2031"):
        service.book_with_code(
            session,
            code="OPEN-DOOR-K47",
            product_code="drive",
            starts_at=at(MONDAY + timedelta(days=3), 10),
            guest=GUEST,
            now=NOW,
        )
    # A cancellation gives the place back.
    first = service.list_attributed_bookings(session, scope=STAFF)[-1]
    bookings.cancel_booking(session, ref=first.booking.ref, now=NOW)
    service.book_with_code(
        session,
        code="OPEN-DOOR-K47",
        product_code="drive",
        starts_at=at(MONDAY + timedelta(days=3), 10),
        guest=GUEST,
        now=NOW,
    )


def test_personal_code_attributes_the_invitee_and_is_single_use(session: Session) -> None:
    dw = make_dealer_world(session)
    row = service.add_invitee(
        session,
        scope=scope_of(dw.north),
        campaign_id=dw.campaign.id,
        name="Ann Lee",
        email="Ann@Example.com",
        consent_marketing=True,
    )
    assert row.invitee.email_key == "ann@example.com"
    code = row.code.lower().replace("-", " - ")  # typed sloppily from the letter
    # Dashes, spaces and case do not matter (dealers/codes.py code_key).
    undashed = service.get_invitation(session, code=code.replace("-", ""), now=NOW)
    assert undashed.code == row.code and undashed.invitee_email.lower() == "ann@example.com"
    result = service.book_with_code(
        session, code=code, product_code="drive", starts_at=at(MONDAY, 10), guest=GUEST, now=NOW
    )
    attribution = session.get(BookingAttribution, result.booking.id)
    assert attribution is not None and attribution.invitee_id == row.invitee.id
    with pytest.raises(InvitationUsedUp, match="already been used"):
        service.get_invitation(session, code=row.code, now=NOW)
    listed = service.list_invitees(session, scope=scope_of(dw.north))
    assert listed[0].bookings == 1


def test_http_invitation_read_book_and_replay(client: TestClient, session: Session) -> None:
    dw = make_dealer_world(session)
    service.create_code(
        session,
        scope=STAFF,
        campaign_id=dw.campaign.id,
        code="HTTP-ONCE-K47",
        expires_at=at(MONDAY, 23),
    )
    shown = client.get("/api/v1/invitations/ http-once-k47 ")
    assert shown.status_code == 200
    body = shown.json()
    assert body["dealer"]["name"] == "Hudson Motors" and body["uses_left"] == 1
    assert [(p["code"], p["price"], p["currency"]) for p in body["products"]] == [
        ("drive", "600.00", "USD")
    ]
    assert (
        client.get("/api/v1/invitations/NOPE-NOPE").json()["type"].endswith("invitation-not-found")
    )
    request = {
        "product": "drive",
        "starts_at": at(MONDAY, 10).isoformat(),
        "guest": {"name": "Ann Lee", "email": "ann@example.com"},
    }
    key = {"Idempotency-Key": "abc-123"}
    first = client.post("/api/v1/invitations/HTTP-ONCE-K47/bookings", json=request, headers=key)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/invitations/HTTP-ONCE-K47/bookings", json=request, headers=key)
    assert again.status_code == 200 and again.json()["ref"] == first.json()["ref"]
    other = client.post(
        "/api/v1/invitations/HTTP-ONCE-K47/bookings",
        json=request,
        headers={"Idempotency-Key": "abc-456"},
    )
    assert other.status_code == 409
    assert other.json()["type"].endswith("invitation-used-up")
    assert client.get("/api/v1/invitations/HTTP-ONCE-K47").status_code == 409
    wrong = client.post(
        "/api/v1/invitations/HTTP-ONCE-K47/bookings", json={**request, "product": "sim"}
    )
    assert wrong.status_code in (409, 422)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="WRONG-PROD-K47")
    wrong = client.post(
        "/api/v1/invitations/WRONG-PROD-K47/bookings", json={**request, "product": "sim"}
    )
    assert wrong.status_code == 422 and wrong.json()["type"].endswith("invitation-wrong-product")
    service.create_code(
        session,
        scope=STAFF,
        campaign_id=dw.campaign.id,
        code="GONE-SOON-K47",
        expires_at=utcnow() + timedelta(seconds=1),
        now=utcnow(),
    )
    time.sleep(1.1)
    assert client.get("/api/v1/invitations/GONE-SOON-K47").status_code == 410
    availability = client.get(
        "/api/v1/invitations/WRONG-PROD-K47/availability",
        params={"product": "drive", "from": str(MONDAY)},
    )
    assert availability.status_code == 200
    assert availability.json()["places_left"] == {"2031-06": 3}


def test_guessing_codes_from_one_address_is_slowed_down(
    client: TestClient, session: Session
) -> None:
    dw = make_dealer_world(session)
    service.create_code(session, scope=STAFF, campaign_id=dw.campaign.id, code="REAL-ONE-K47")
    for n in range(30):
        assert client.get(f"/api/v1/invitations/GUESS-{n:04d}").status_code == 404
    blocked = client.get("/api/v1/invitations/REAL-ONE-K47")
    assert blocked.status_code == 429 and blocked.json()["retry_after"] > 0
