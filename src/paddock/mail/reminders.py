"""The reminder the day before: confirmed bookings that start within REMINDER_LEAD get one
reminder each, enqueued once whatever how many passes or processes see them (the outbox's
`dedupe_key`, unique). A booking made less than REMINDER_LEAD before its start gets none: its
confirmation is fresh."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings.models import Booking, BookingStatus
from paddock.db import utcnow
from paddock.mail import messages
from paddock.mail.models import MailKind, MailMessage
from paddock.unit_of_work import end_read, write_transaction

REMINDER_LEAD = timedelta(hours=24)


def reminder_key(booking_id: int) -> str:
    return f"reminder:{booking_id}"


def enqueue_reminders(session: Session, *, now: datetime | None = None) -> int:
    """Enqueue the reminders now due; returns how many were new."""
    now = now or utcnow()
    candidates = session.execute(
        select(Booking.id, Booking.created_at, Booking.starts_at).where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at > now,
            Booking.starts_at <= now + REMINDER_LEAD,
            Booking.guest_email != "",
        )
    ).all()
    due = [i for i, created, starts in candidates if created <= starts - REMINDER_LEAD]
    end_read(session)
    if not due:
        return 0
    keys = {reminder_key(i): i for i in due}
    added = 0
    with write_transaction(session):
        known = set(
            session.scalars(select(MailMessage.dedupe_key).where(MailMessage.dedupe_key.in_(keys)))
        )
        for key, booking_id in keys.items():
            if key not in known:
                added += messages.enqueue(
                    session,
                    kind=MailKind.REMINDER,
                    booking_id=booking_id,
                    dedupe_key=key,
                    now=now,
                )
    return added
