"""Merging duplicates: everything moves to the survivor in one transaction, the newest consent
wins, the duplicate's e-mail keeps leading to the survivor, and dealers' ownership is kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.crm import merge as merge_module
from paddock.crm import service as crm
from paddock.crm.models import BookingPerson, Conversion, Person, PersonConsent, Sale, Vehicle
from paddock.errors import Conflict, Forbidden, Invalid, NotFound
from tests.crm.helpers import make_dealer, visit
from tests.crm.test_sales import VIN, report, sale
from tests.factories import MONDAY, at, make_world


def two_records(session: Session) -> tuple[Person, Person, int]:
    """Ann as ann@ (survivor) and as a.lee@ (duplicate: visits, a car, a converting sale)."""
    make_world(session, cars=3, coaches=3)
    dealer = make_dealer(session)
    survivor = crm.create_person(
        session,
        name="Ann Lee",
        email="ann@example.com",
        dealer_id=dealer.id,
        consents={"marketing_email": False},
        now=at(MONDAY, 6),
    )
    visit(session, email="a.lee@example.com", day=MONDAY)
    visit(session, email="a.lee@example.com", day=MONDAY + timedelta(days=1))
    report(session, sale("a.lee@example.com", 10), dealer.id)
    duplicate = crm.find_by_email(session, "a.lee@example.com")
    assert duplicate is not None
    crm.set_consents(
        session,
        person_id=duplicate.id,
        changes={"marketing_email": True, "phone": True},
        source="web",
        now=at(MONDAY + timedelta(days=12), 9),
    )
    crm.update_person(session, person_id=duplicate.id, phone="+1 404 555 0101")
    return survivor, duplicate, dealer.id


def count(session: Session, model: type, person_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(model).where(model.person_id == person_id)  # type: ignore[attr-defined]
        )
        or 0
    )


def test_merge_moves_everything_to_the_survivor(session: Session) -> None:
    survivor, duplicate, _ = two_records(session)
    result = crm.merge_people(
        session, survivor_id=survivor.id, duplicate_id=duplicate.id, actor="user:ops"
    )
    assert result.moved["visits"] == 2
    assert result.moved["vehicles"] == 1 and result.moved["sales"] == 1
    assert result.moved["conversions"] == 1
    for model in (BookingPerson, Vehicle, Sale, Conversion, PersonConsent):
        assert count(session, model, duplicate.id) == 0
    assert count(session, BookingPerson, survivor.id) == 2
    merged = crm.get_person(session, person_id=survivor.id)
    assert merged.kind == "client"  # the duplicate had bought
    assert merged.phone == "+1 404 555 0101"
    # The newest decision wins: the duplicate's marketing consent came after the survivor's no.
    assert merged.consent_marketing_email is True and merged.consent_phone is True
    with pytest.raises(NotFound, match="merged into"):
        crm.get_person(session, person_id=duplicate.id)
    # The duplicate's address still leads to the survivor, for lookups and new bookings.
    found = crm.find_by_email(session, "A.Lee@example.com")
    assert found is not None and found.id == survivor.id
    visit(session, email="a.lee@example.com", day=MONDAY + timedelta(days=20))
    crm.link_bookings(session)
    assert count(session, BookingPerson, survivor.id) == 3
    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.subject_kind == "person",
            AuditEntry.subject_id.in_([survivor.id, duplicate.id]),
            AuditEntry.action.like("merged%"),
        )
    ).all()
    assert sorted(actions) == ["merged", "merged_into"]


def test_a_car_on_both_records_is_kept_once(session: Session) -> None:
    survivor, duplicate, dealer_id = two_records(session)
    report(session, sale("ann@example.com", 11, ref="DEAL-9"), dealer_id)  # same VIN
    crm.merge_people(session, survivor_id=survivor.id, duplicate_id=duplicate.id, actor="ops")
    vins = session.scalars(select(Vehicle.vin).where(Vehicle.person_id == survivor.id)).all()
    assert vins == [VIN]
    sales = session.scalars(select(Sale).where(Sale.person_id == survivor.id)).all()
    assert len(sales) == 2 and len({s.vehicle_id for s in sales}) == 1


def test_merge_is_all_or_nothing(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    survivor, duplicate, _ = two_records(session)

    def explode(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(merge_module, "_merge_consents", explode)
    with pytest.raises(RuntimeError):
        crm.merge_people(session, survivor_id=survivor.id, duplicate_id=duplicate.id, actor="x")
    assert count(session, BookingPerson, duplicate.id) == 2
    assert count(session, Sale, duplicate.id) == 1
    assert crm.get_person(session, person_id=duplicate.id).merged_into_id is None


def test_merging_across_dealers_needs_an_admin(session: Session) -> None:
    make_world(session)
    one = make_dealer(session, "D-1")
    two = make_dealer(session, "D-2", "Two")
    a = crm.create_person(session, name="Ann Lee", email="a@example.com", dealer_id=one.id)
    b = crm.create_person(session, name="Ann Lee", email="b@example.com", dealer_id=two.id)
    with pytest.raises(Forbidden):
        crm.merge_people(session, survivor_id=a.id, duplicate_id=b.id, actor="ops")
    # Dealer staff cannot even see the other dealer's contact.
    with pytest.raises(NotFound):
        crm.merge_people(
            session, survivor_id=a.id, duplicate_id=b.id, actor="dealer", scope_dealer_id=one.id
        )
    crm.merge_people(session, survivor_id=a.id, duplicate_id=b.id, actor="admin", is_admin=True)
    assert crm.get_person(session, person_id=a.id).dealer_id == one.id


def test_merge_refuses_nonsense(session: Session) -> None:
    make_world(session)
    a = crm.create_person(session, name="Ann Lee", email="a@example.com")
    b = crm.create_person(session, name="Bob Ray", email="b@example.com")
    with pytest.raises(Invalid):
        crm.merge_people(session, survivor_id=a.id, duplicate_id=a.id, actor="x")
    with pytest.raises(NotFound):
        crm.merge_people(session, survivor_id=a.id, duplicate_id=999, actor="x")
    crm.erase_person(session, person_id=b.id, actor="x")
    with pytest.raises(Conflict):
        crm.merge_people(session, survivor_id=a.id, duplicate_id=b.id, actor="x")
