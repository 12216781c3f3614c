"""'Find my booking': a guest types an e-mail address and receives one mail with the links to
that address's upcoming bookings (written when sent, `render.py`).

The answer is the same whether or not the address has bookings: the request only queues a
message (the bookings are looked up by the sender, which skips the message when there are
none), so neither the page nor its timing tells. Throttled per client address (past it: 429)
and per e-mail address (past it, silently nothing more is queued: nobody can flood someone's
mailbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from paddock import throttle
from paddock.clients import address_key
from paddock.db import utcnow
from paddock.errors import TooManyRequests
from paddock.mail import messages
from paddock.mail.models import MailKind
from paddock.unit_of_work import write_transaction

PER_ADDRESS = (10, 15 * 60)  # requests per client address per window (seconds)
PER_EMAIL = (3, 3600)  # mails per e-mail address per window


def request_booking_links(
    session: Session, *, email: str, ip: str = "", now: datetime | None = None
) -> None:
    at = throttle.clock() if now is None else now.timestamp()
    wait = throttle.hit(session, f"find:{address_key(ip)}", *PER_ADDRESS, now=at)
    if wait:
        raise TooManyRequests(
            f"Too many requests from your address; try again in {wait} seconds.",
            retry_after=wait,
        )
    recipient = email.strip()
    if throttle.hit(session, f"find-email:{throttle.hidden(recipient)}", *PER_EMAIL, now=at):
        return
    with write_transaction(session):
        messages.enqueue(
            session, kind=MailKind.FIND_BOOKINGS, recipient=recipient, now=now or utcnow()
        )
