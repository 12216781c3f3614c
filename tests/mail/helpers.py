"""What the mail tests share: a booking world, a local SMTP server (aiosmtpd), the settings
that point the sender at it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.mail.devserver import DevServer
from paddock.mail.models import MailMessage
from paddock.mail.render import MailContext
from paddock.mail.sender import MailSettings
from paddock.mail.smtp import SmtpConfig
from paddock.outbox import RetryPolicy
from tests.factories import MONDAY, at

SECRET = "test-secret-key-for-mail"
PUBLIC_URL = "https://paddock.example"


def mail_settings(server: DevServer | None, *, max_attempts: int = 3) -> MailSettings:
    return MailSettings(
        SmtpConfig(
            host=server.host if server else "",
            port=server.port if server else 25,
            sender="Paddock <bookings@paddock.example>",
            allow_private=True,
        ),
        MailContext(PUBLIC_URL, "Paddock <bookings@paddock.example>", SECRET),
        RetryPolicy(max_attempts=max_attempts, base_seconds=60, max_seconds=600),
    )


def book(
    session: Session, email: str = "ann@example.com", hour: int = 10, **kwargs: object
) -> bookings.BookingResult:
    """A booking made a week before its day (so a reminder is due the day before)."""
    start = at(MONDAY, hour)
    return bookings.create_booking(
        session,
        product_code="drive",
        starts_at=start,
        guest=bookings.Guest("Ann Lee", email),
        now=start - timedelta(days=7),
        **kwargs,  # type: ignore[arg-type]
    )


def messages(session: Session) -> list[MailMessage]:
    session.rollback()  # a fresh snapshot
    return list(session.scalars(select(MailMessage).order_by(MailMessage.id)))


def same_page(text: str, address: str) -> str:
    """A page without what differs by design: the address typed, the CSRF token (signed with
    the time)."""
    return re.sub(r"[\w-]+\.[\w-]+\.[\w-]{16,}", "TOKEN", text.replace(address, "EMAIL"))
