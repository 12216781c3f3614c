"""Consents given on the booking form are recorded on the guest's person in the
confirmation's own transaction, with the time and the wording's version (SQLite and
PostgreSQL); a refused confirmation records nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.crm import booking_consents
from paddock.crm.models import Person, PersonConsent
from paddock.errors import HoldExpired
from tests.factories import MONDAY, at, make_world


def _hold(session: Session, hour: int, minutes: int = 10) -> str:
    held = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=at(MONDAY, hour),
        guest=bookings.Guest("Guest", "hold@example.com"),
        hold=True,
        hold_minutes=minutes,
        now=at(MONDAY, 7),
    )
    return held.booking.ref


def test_terms_and_marketing_are_recorded_with_the_confirmation(session: Session) -> None:
    make_world(session)
    ref = _hold(session, 10)
    consents = booking_consents.BookingConsents(terms=True, marketing=True)
    bookings.confirm_with_guest(
        session,
        ref=ref,
        guest=bookings.Guest("Ann Lee", "Ann@Example.com"),
        now=at(MONDAY, 7, 5),
        on_confirmed=booking_consents.recorder(consents, at(MONDAY, 7, 5)),
    )
    session.rollback()
    person = session.scalar(select(Person).where(Person.email == "ann@example.com"))
    assert person is not None and person.name == "Ann Lee"
    assert person.consent_marketing_email and person.consent_marketing_email_at == at(MONDAY, 7, 5)
    rows = session.scalars(select(PersonConsent).order_by(PersonConsent.id)).all()
    assert [(r.purpose, r.granted, r.version, r.recorded_at) for r in rows] == [
        ("terms", True, booking_consents.TERMS_VERSION, at(MONDAY, 7, 5)),
        ("marketing_email", True, booking_consents.MARKETING_VERSION, at(MONDAY, 7, 5)),
    ]
    assert {r.source for r in rows} == {f"booking form {ref}"}


def test_a_refused_confirmation_records_no_consent(session: Session) -> None:
    make_world(session)
    ref = _hold(session, 11, minutes=5)
    with pytest.raises(HoldExpired):
        bookings.confirm_with_guest(
            session,
            ref=ref,
            guest=bookings.Guest("Bo Kim", "bo@example.com"),
            now=at(MONDAY, 8),  # the hold lapsed at 07:05
            on_confirmed=booking_consents.recorder(
                booking_consents.BookingConsents(terms=True, marketing=True)
            ),
        )
    session.rollback()
    assert session.scalar(select(PersonConsent.id)) is None
    assert session.scalar(select(Person.id).where(Person.email == "bo@example.com")) is None
