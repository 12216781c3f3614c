"""Export and erasure on request: the export holds everything; after erasure no table holds the
person's name, e-mail, phone or VIN, while the facts the KPIs count are unchanged."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings import service as bookings
from paddock.bookings.models import Booking
from paddock.crm import service as crm
from paddock.crm.models import BookingPerson, Conversion, Person
from paddock.dealers.models import Campaign, Invitee
from paddock.errors import Conflict
from paddock.model_registry import metadata
from paddock.webhooks import service as webhooks
from tests.crm.helpers import make_dealer, visit
from tests.crm.test_deliveries import delivery_world
from tests.crm.test_sales import VIN, report, sale
from tests.factories import MONDAY, at

NAME = "Zelda Quixote"
EMAIL = "zelda.quixote@example.com"
PHONE = "+1 404 555 0199"
CAR_VIN = "WP0AA2A91SS206209"


def rich_history(session: Session) -> tuple[Person, int]:
    """Zelda: invited by a dealer with a webhook, drove, cancelled once (saying why, with her
    name), bought a car, took delivery of it; her bookings went out in webhooks."""
    delivery_world(session)
    dealer = make_dealer(session)
    webhooks.set_endpoint(session, dealer_id=dealer.id, url="http://dealer.invalid/hook")
    campaign = Campaign(
        dealer_id=dealer.id, name="Spring", drive_from=MONDAY, drive_to=MONDAY + timedelta(60)
    )
    session.add(campaign)
    session.flush()
    session.add(
        Invitee(
            dealer_id=dealer.id,
            campaign_id=campaign.id,
            name=NAME,
            email=EMAIL,
            email_key=EMAIL,
            phone=PHONE,
            note=f"{NAME} loves GT3s",
        )
    )
    session.commit()
    visit(session, email=EMAIL.upper(), name=NAME, day=MONDAY, dealer_id=dealer.id)
    start = at(MONDAY + timedelta(days=1), 10)
    cancelled = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=start,
        guest=bookings.Guest(NAME, EMAIL, PHONE, notes=f"call {PHONE}"),
        actor=f"guest:{EMAIL}",
        now=start - timedelta(days=3),
    )
    bookings.cancel_booking(
        session,
        ref=cancelled.booking.ref,
        reason=f"{NAME} is ill",
        actor=f"guest:{EMAIL}",
        now=start - timedelta(days=2),
    )
    report(session, sale(EMAIL, 20, name=NAME, phone=PHONE), dealer.id)
    person = crm.find_by_email(session, EMAIL)
    assert person is not None
    crm.update_person(session, person_id=person.id, phone=PHONE, notes=f"{NAME}, VIP")
    crm.schedule_delivery(
        session,
        vin=CAR_VIN,
        model="911 GT3",
        person_id=person.id,
        starts_at=at(MONDAY + timedelta(days=30), 10),
        product_code="delivery",
        now=at(MONDAY + timedelta(days=22), 9),
    )
    ok = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    assert webhooks.dispatch(session, client=ok).delivered >= 1
    return person, dealer.id


def every_text(session: Session) -> list[tuple[str, str]]:
    found = []
    for table in metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            for column, value in row.items():
                if isinstance(value, dict | list):
                    value = json.dumps(value)
                if isinstance(value, str):
                    found.append((f"{table.name}.{column}", value.lower()))
    return found


def test_export_holds_everything(session: Session) -> None:
    person, _ = rich_history(session)
    document = crm.export_person(session, person_id=person.id, actor="user:dpo")
    json.dumps(document)  # JSON-ready as it is
    assert document["person"]["email"] == EMAIL and document["person"]["phone"] == PHONE
    assert len(document["bookings"]) == 3  # the visit, the cancelled drive, the delivery
    cancelled = next(b for b in document["bookings"] if b["status"] == "cancelled")
    assert [h["action"] for h in cancelled["history"]] == ["confirmed", "cancelled"]
    assert "manage_token" not in cancelled
    assert document["vehicles"][0]["vin"] == VIN
    assert {v["vin"] for v in document["vehicles"]} == {VIN, CAR_VIN}
    assert len(document["sales"]) == 1 and len(document["conversions"]) == 1
    assert document["webhook_events"] and document["webhook_events"][0]["dealer"] == "D-ATL-001"
    assert "created" in [a["action"] for a in document["audit"]]
    logged = session.scalar(
        select(AuditEntry).where(
            AuditEntry.subject_id == person.id, AuditEntry.action == "exported"
        )
    )
    assert logged is not None and logged.actor == "user:dpo"


def test_erasure_leaves_no_personal_data_and_keeps_the_facts(session: Session) -> None:
    person, _ = rich_history(session)
    before = facts(session)
    assert any(EMAIL in text for _, text in every_text(session))
    counts = crm.erase_person(session, person_id=person.id, actor="user:dpo", reason="GDPR")
    assert counts["bookings"] == 3 and counts["invitations"] == 1
    leaks = [
        (where, secret)
        for where, text in every_text(session)
        for secret in (EMAIL, NAME.lower(), "quixote", PHONE, VIN.lower(), CAR_VIN.lower())
        if secret.lower() in text
    ]
    assert leaks == []
    assert facts(session) == before
    erased = session.get(Person, person.id)
    assert erased is not None and erased.erased_at is not None and erased.email is None
    with pytest.raises(Conflict):
        crm.erase_person(session, person_id=person.id, actor="user:dpo")
    with pytest.raises(Conflict):
        crm.update_person(session, person_id=person.id, name="Back Again")
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.subject_id == person.id, AuditEntry.action == "erased")
    )
    assert entry is not None and entry.data["counts"]["bookings"] == 3


def test_the_same_address_can_come_back_as_a_new_person(session: Session) -> None:
    person, _ = rich_history(session)
    crm.erase_person(session, person_id=person.id, actor="dpo")
    again = crm.create_person(session, name=NAME, email=EMAIL)
    assert again.id != person.id
    assert crm.visits(session, person_id=again.id) == []


def facts(session: Session) -> list[Any]:
    """What the KPIs count: bookings' product, time and status, links, conversions."""
    rows: list[Any] = [
        tuple(r)
        for r in session.execute(
            select(Booking.id, Booking.product_id, Booking.starts_at, Booking.status).order_by(
                Booking.id
            )
        )
    ]
    rows += [
        tuple(r)
        for r in session.execute(
            select(
                BookingPerson.booking_id, BookingPerson.person_id, BookingPerson.kind_at_visit
            ).order_by(BookingPerson.booking_id)
        )
    ]
    rows += [
        tuple(r)
        for r in session.execute(
            select(Conversion.booking_id, Conversion.dealer_id, Conversion.converted_on)
        )
    ]
    return rows
