"""The mail outbox: one row per message to send.

A booking's confirmation, move and cancellation are written by a database trigger on
`audit_entry` (`sql/mail_outbox_from_audit.sql`, and its SQLite twin in the migration), in the
transaction that writes the change's audit entry: the booking path writes no more than it did,
and no change commits without its mail. The row names the booking and the kind of mail only;
the recipient, the text and the calendar file are made when it is sent, from the booking as it
is then. Other mails (reminders, password resets, "find my booking") are enqueued by their use
case (`messages.enqueue`) with what they need in `payload`; `dedupe_key` makes an enqueue
idempotent (one reminder per booking)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from paddock.db import Base, JSONDocument, UTCDateTime, utcnow


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    SKIPPED = "skipped"  # nothing to say when its turn came (a past booking, no address)


class MailKind(enum.StrEnum):
    CONFIRMED = "booking_confirmed"
    MOVED = "booking_moved"
    CANCELLED = "booking_cancelled"
    REMINDER = "booking_reminder"
    PASSWORD_RESET = "password_reset"
    FIND_BOOKINGS = "find_bookings"


class MailMessage(Base):
    __tablename__ = "mail_message"
    noun = "mail message"  # in messages
    __table_args__ = (
        Index("ix_mail_message_due", "status", "next_attempt_at"),
        Index(
            "uq_mail_message_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=text("dedupe_key IS NOT NULL"),
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[int | None] = mapped_column(Integer)
    audit_entry_id: Mapped[int | None] = mapped_column(Integer)
    # Set when enqueued for mails not about a booking; a booking's is read when sent.
    recipient: Mapped[str] = mapped_column(String(254), default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(300), default="")  # as last rendered
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
