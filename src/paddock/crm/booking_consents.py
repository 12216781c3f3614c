"""Consents a guest gives on the booking form: the terms (required to book) and marketing
e-mail (optional), recorded on their person in the CRM in the booking's own transaction,
with the time and the version of the wording they saw. An unticked marketing box records
nothing: it never withdraws a consent given before (withdrawing is `set_consents`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from paddock.bookings.models import Booking
from paddock.crm.models import TERMS, ConsentPurpose, PersonConsent
from paddock.crm.people import apply_consents, audit, find_by_email, link_email
from paddock.db import utcnow

# The wording the booking form shows, and its version (change both together).
TERMS_VERSION = "terms-2026-12"
TERMS_TEXT = (
    "I accept the booking terms and the cancellation policy shown above, and confirm I will "
    "bring a valid driving licence."
)
MARKETING_VERSION = "marketing-2026-12"
MARKETING_TEXT = "Send me news and invitations from the experience centre by e-mail."
SOURCE = "booking form"


@dataclass(frozen=True)
class BookingConsents:
    terms: bool
    marketing: bool
    terms_version: str = TERMS_VERSION
    marketing_version: str = MARKETING_VERSION


def recorder(
    consents: BookingConsents, now: datetime | None = None
) -> Callable[[Session, Booking], None]:
    """The hook a confirmation runs in its transaction (`on_confirmed`)."""

    def record(session: Session, booking: Booking) -> None:
        record_consents(session, booking, consents, now or utcnow())

    return record


def record_consents(
    session: Session, booking: Booking, consents: BookingConsents, now: datetime
) -> None:
    """Inside the caller's transaction: the booking's person (linked now, created if new)
    gets the terms accepted and, if ticked, marketing e-mail granted."""
    if not booking.guest_email:
        return
    session.flush()  # the guest's details, which the link reads in SQL
    link_email(session, booking.guest_email, now)
    person = find_by_email(session, booking.guest_email)
    if person is None or person.erased_at is not None:
        return
    source = f"{SOURCE} {booking.ref}"
    if consents.terms:
        session.add(
            PersonConsent(
                person_id=person.id,
                purpose=TERMS,
                granted=True,
                recorded_at=now,
                source=source,
                version=consents.terms_version,
            )
        )
    if consents.marketing:
        apply_consents(
            session,
            person,
            {ConsentPurpose.MARKETING_EMAIL: True},
            source=source,
            now=now,
            version=consents.marketing_version,
        )
    session.flush()
    audit(
        session,
        actor="guest",
        person_id=person.id,
        action="consent",
        now=now,
        terms=consents.terms,
        marketing_email=consents.marketing,
        booking=booking.ref,
    )
