"""People: e-mails are unique whatever their case, bookings link to people by e-mail, consents
keep their history, dealer-scoped lists never show another dealer's contacts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from paddock.bookings.models import Booking
from paddock.crm import service as crm
from paddock.crm.models import BookingPerson, Person, PersonConsent, SyncCursor
from paddock.errors import Conflict, Invalid, NotFound
from tests.crm.helpers import make_dealer, visit
from tests.factories import MONDAY, at, make_world


def test_email_is_unique_whatever_its_case(session: Session) -> None:
    make_world(session)
    person = crm.create_person(session, name="Ann Lee", email="Ann.Lee@Example.com")
    assert person.email == "ann.lee@example.com"
    with pytest.raises(Conflict):
        crm.create_person(session, name="Ann Other", email="ANN.LEE@example.COM")
    with pytest.raises(Invalid):
        crm.create_person(session, name="Nobody", email="not-an-address")


def test_bookings_link_to_people_by_email_creating_prospects(session: Session) -> None:
    make_world(session, cars=3, coaches=3)
    dealer = make_dealer(session)
    visit(session, email="Bob@Example.com", name="Bob Ray", day=MONDAY, dealer_id=dealer.id)
    visit(session, email="bob@example.com", name="Bob Ray", day=MONDAY, hour=12)
    visit(session, email="cy@example.com", name="Cy Doe", day=MONDAY, hour=14)
    report = crm.link_bookings(session)
    assert (report.linked, report.people_created) == (3, 2)
    bob = crm.find_by_email(session, "BOB@example.com")
    assert bob is not None and bob.kind == "prospect" and bob.name == "Bob Ray"
    # The dealer who invited a person without a dealer becomes their dealer.
    assert bob.dealer_id == dealer.id
    assert [v.kind_at_visit for v in crm.visits(session, person_id=bob.id)] == ["prospect"] * 2
    assert crm.visits(session, person_id=bob.id)[1].dealer_code == dealer.code
    # Linking again finds nothing new; a new booking is picked up.
    assert crm.link_bookings(session).linked == 0
    visit(session, email="bob@example.com", day=MONDAY + timedelta(days=1))
    assert crm.link_bookings(session).linked == 1
    assert session.scalar(select(func.count()).select_from(BookingPerson)) == 4


def test_link_never_skips_a_booking_committed_late(
    session: Session, session_factory: sessionmaker[Session], database_url: str
) -> None:
    """Ids are taken before commit: on PostgreSQL a booking with a lower id can commit after a
    pass has seen higher ones. The watermark only moves to ids seen a settle-time ago."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: ids are taken in commit order")
    make_world(session, cars=3, coaches=3)
    slow = session_factory()
    slow_id = slow.execute(
        insert(Booking).returning(Booking.id), booking_row("slow@example.com")
    ).scalar_one()
    fast = visit(session, email="fast@example.com", day=MONDAY)
    assert fast.booking.id > slow_id
    assert crm.link_bookings(session).linked == 1
    assert crm.link_bookings(session).linked == 0
    slow.commit()
    slow.close()
    assert crm.link_bookings(session).linked == 1
    # Once settled, the watermark moves on and a pass only looks above it.
    crm.link_bookings(session, settle=timedelta(0))
    crm.link_bookings(session, settle=timedelta(0))
    cursor = session.get(SyncCursor, "booking_person")
    assert cursor is not None and cursor.safe_id == fast.booking.id


def booking_row(email: str) -> dict[str, object]:
    start = at(MONDAY, 15)
    return {
        "ref": "PSLOW001",
        "manage_token": "slow-token",
        "product_id": 1,
        "site_id": 1,
        "starts_at": start,
        "ends_at": start + timedelta(minutes=90),
        "status": "confirmed",
        "guest_name": "Slow Writer",
        "guest_email": email,
        "guest_phone": "",
        "notes": "",
        "channel": "test",
        "price_cents": 0,
        "currency": "USD",
        "created_at": start,
        "updated_at": start,
        "cancel_reason": "",
    }


def test_creating_a_person_links_their_earlier_bookings(session: Session) -> None:
    make_world(session)
    visit(session, email="dee@example.com", name="Dee Vo", day=MONDAY)
    person = crm.create_person(
        session, name="Dee Vo", email="dee@example.com", consents={"marketing_email": True}
    )
    assert len(crm.visits(session, person_id=person.id)) == 1
    assert person.consent_marketing_email is True
    assert person.consent_marketing_email_at is not None


def test_consents_keep_history(session: Session) -> None:
    make_world(session)
    person = crm.create_person(session, name="Eve Ng", email="eve@example.com")
    now = at(MONDAY, 9)
    crm.set_consents(session, person_id=person.id, changes={"phone": True}, source="form", now=now)
    crm.set_consents(
        session,
        person_id=person.id,
        changes={"phone": False},
        source="call",
        now=now + timedelta(days=1),
    )
    person = crm.get_person(session, person_id=person.id)
    assert person.consent_phone is False
    assert person.consent_phone_at == now + timedelta(days=1)
    history = session.scalars(
        select(PersonConsent.granted).where(PersonConsent.person_id == person.id)
    ).all()
    assert history == [True, False]
    with pytest.raises(Invalid):
        crm.set_consents(session, person_id=person.id, changes={"pigeons": True}, source="x")


def test_dealer_scope_hides_other_dealers_contacts(session: Session) -> None:
    make_world(session)
    mine = make_dealer(session, "D-1")
    theirs = make_dealer(session, "D-2", "Other Motors")
    a = crm.create_person(session, name="Al Mine", email="al@example.com", dealer_id=mine.id)
    b = crm.create_person(session, name="Bo Theirs", email="bo@example.com", dealer_id=theirs.id)
    listed = crm.list_people(session, dealer_id=mine.id)
    assert [p.id for p in listed] == [a.id]
    assert crm.list_people(session, dealer_id=mine.id, search="bo") == []
    with pytest.raises(NotFound):
        crm.get_person(session, person_id=b.id, dealer_id=mine.id)
    with pytest.raises(NotFound):
        crm.update_person(session, person_id=b.id, scope_dealer_id=mine.id, phone="1")
    with pytest.raises(Invalid):
        crm.update_person(session, person_id=a.id, scope_dealer_id=mine.id, dealer_id=theirs.id)


def test_people_list_pages_by_keyset(session: Session) -> None:
    make_world(session)
    ids = [
        crm.create_person(session, name=f"Person {n:02d}", email=f"p{n}@example.com").id
        for n in range(7)
    ]
    first = crm.list_people(session, limit=3)
    second = crm.list_people(session, limit=3, after_id=first[-1].id)
    third = crm.list_people(session, limit=3, after_id=second[-1].id)
    assert [p.id for p in [*first, *second, *third]] == ids
    assert session.scalar(select(func.count()).select_from(Person)) == 7
