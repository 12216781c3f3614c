"""A queued mail made into a message when it is sent: plain text and HTML from
templates/mail/<kind>.txt and .html (Jinja2), the booking's calendar file attached.

A booking's mail is written from the booking as it is at send time (its current time and
place); `None` means there is nothing to send any more (the booking has started, or has no
address, or a moved hold was never confirmed; a password link was used or expired; no
upcoming bookings for "find my booking"), and the message is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.accounts import password_reset
from paddock.bookings.ics import booking_calendar
from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Site
from paddock.catalog.models import Product
from paddock.mail.models import MailKind, MailMessage

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
SUBJECTS = {
    MailKind.CONFIRMED: "Your booking {ref} is confirmed: {product}, {when}",
    MailKind.MOVED: "Your booking {ref} has moved: {product}, now {when}",
    MailKind.CANCELLED: "Your booking {ref} is cancelled",
    MailKind.REMINDER: "Tomorrow: {product} at {when} ({ref})",
    MailKind.PASSWORD_RESET: "Set a new Paddock password",
    MailKind.FIND_BOOKINGS: "Your Paddock bookings",
}
FIND_LIMIT = 20


@dataclass(frozen=True)
class MailContext:
    public_url: str
    sender: str
    secret_key: str


def render(
    session: Session, message: MailMessage, context: MailContext, now: datetime
) -> EmailMessage | None:
    kind = MailKind(message.kind)
    if kind == MailKind.PASSWORD_RESET:
        return _password_reset(session, message, context)
    if kind == MailKind.FIND_BOOKINGS:
        return _find_bookings(session, message, context, now)
    return _booking_mail(session, message, kind, context, now)


def _booking_mail(
    session: Session, message: MailMessage, kind: MailKind, context: MailContext, now: datetime
) -> EmailMessage | None:
    row = session.execute(
        select(Booking, Product, Site)
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
        .where(Booking.id == message.booking_id)
    ).first()
    if row is None:
        return None
    booking, product, site = row
    if not booking.guest_email or booking.starts_at <= now:
        return None
    live = booking.status == BookingStatus.CONFIRMED
    if kind in (MailKind.CONFIRMED, MailKind.MOVED, MailKind.REMINDER) and not live:
        return None  # cancelled (or a hold) since: its own mail says so
    manage_url = f"{context.public_url.rstrip('/')}/b/{booking.manage_token}"
    values = _booking_values(booking, product, site, manage_url)
    mail = _compose(kind, booking.guest_email, context, values, SUBJECTS[kind].format(**values))
    ics = booking_calendar(
        ref=booking.ref,
        status=booking.status,
        title=product.name,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        time_zone=site.time_zone,
        location=f"{site.name}, {site.city}",
        arrive_early_minutes=product.arrive_early_minutes,
        manage_url=manage_url,
        stamp=now,
        sequence=int((booking.updated_at - booking.created_at).total_seconds()) // 60,
    )
    method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "PUBLISH"
    mail.add_attachment(
        ics,
        maintype="text",
        subtype="calendar",
        filename=f"paddock-{booking.ref}.ics",
        params={"method": method},
    )
    return mail


def _booking_values(
    booking: Booking, product: Product, site: Site, manage_url: str
) -> dict[str, Any]:
    local = booking.starts_at.astimezone(ZoneInfo(site.time_zone))
    return {
        "ref": booking.ref,
        "name": booking.guest_name,
        "product": product.name,
        "site": site.name,
        "city": site.city,
        "when": f"{local:%A %-d %B %Y, %H:%M}",
        "arrive_early_minutes": product.arrive_early_minutes,
        "manage_url": manage_url,
        "reason": booking.cancel_reason,
    }


def _password_reset(
    session: Session, message: MailMessage, context: MailContext
) -> EmailMessage | None:
    found = password_reset.reset_for_mail(session, int((message.payload or {})["reset_id"]))
    if found is None:
        return None
    reset, user = found
    token = password_reset.token_for(context.secret_key, reset.nonce)
    values = {
        "name": user.name or user.email,
        "reset_url": f"{context.public_url.rstrip('/')}/password/reset/{token}",
        "minutes": password_reset.RESET_MINUTES,
    }
    return _compose(
        MailKind.PASSWORD_RESET, user.email, context, values, SUBJECTS[MailKind.PASSWORD_RESET]
    )


def _find_bookings(
    session: Session, message: MailMessage, context: MailContext, now: datetime
) -> EmailMessage | None:
    """The address's upcoming confirmed bookings, each with its own link (nothing is sent
    when there is none: the page that asked said the same either way)."""
    rows = session.execute(
        select(Booking, Product, Site)
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
        .where(
            Booking.starts_at > now,
            Booking.status == BookingStatus.CONFIRMED,
            func.lower(Booking.guest_email) == message.recipient.lower(),
        )
        .order_by(Booking.starts_at)
        .limit(FIND_LIMIT)
    ).all()
    if not rows:
        return None
    base = context.public_url.rstrip("/")
    bookings = [_booking_values(b, p, s, f"{base}/b/{b.manage_token}") for b, p, s in rows]
    values = {"bookings": bookings, "find_url": f"{base}/find"}
    return _compose(
        MailKind.FIND_BOOKINGS,
        message.recipient,
        context,
        values,
        SUBJECTS[MailKind.FIND_BOOKINGS],
    )


def _compose(
    kind: MailKind, to: str, context: MailContext, values: dict[str, Any], subject: str
) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = context.sender
    mail["To"] = to
    mail["Date"] = format_datetime(datetime.now().astimezone())
    domain = context.sender.rpartition("@")[2].rstrip(">") or None
    mail["Message-ID"] = make_msgid("paddock", domain=domain)
    mail.set_content(_env.get_template(f"{kind.value}.txt").render(**values))
    mail.add_alternative(_env.get_template(f"{kind.value}.html").render(**values), subtype="html")
    return mail
