"""A person's data on request: export everything we hold about them, or erase it.

Erasure anonymises: the person's name, e-mail, phone and notes, their bookings' guest fields,
notes and cancellation reasons, the VINs of their cars (and the customer-car units named after
them), the invitations dealers made for that address, the webhook payloads about their bookings
and any audit entry that quoted them. What the KPIs count stays: bookings with their product,
times and status, the link to the (now anonymous) person, sales and conversions. It cannot be
undone, and it is audited without the erased data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.bookings.models import Booking
from paddock.capacity.models import Pool, Site, Unit, pool_membership
from paddock.catalog.models import Product
from paddock.crm.models import (
    BookingPerson,
    Conversion,
    Person,
    PersonConsent,
    Sale,
    Vehicle,
)
from paddock.crm.people import (
    SUBJECT,
    audit,
    get_person,
    link_email,
    require_live,
    visits_query,
)
from paddock.db import utcnow
from paddock.dealers.models import BookingAttribution, Dealer, Invitee
from paddock.unit_of_work import run_write
from paddock.webhooks.models import WebhookEvent

ERASED_NAME = "Erased person"
# Keys of audit data that may quote what a guest or a member of staff typed about a person.
FREE_TEXT_KEYS = ("cancel_reason", "reason", "notes", "note", "guest_name", "guest_email", "email")
PRIVATE_BOOKING_FIELDS = ("manage_token", "idempotency_key", "request_fingerprint")


def export_person(
    session: Session,
    *,
    person_id: int,
    actor: str,
    scope_dealer_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything held about one person, as JSON-ready data (the export is audited)."""
    now = now or utcnow()

    def write() -> dict[str, Any]:
        person = get_person(session, person_id=person_id, dealer_id=scope_dealer_id)
        if person.email is not None:
            link_email(session, person.email, now)
        document = _document(session, person, now)
        audit(session, actor=actor, person_id=person.id, action="exported", now=now)
        return document

    return run_write(session, write)


def erase_person(
    session: Session,
    *,
    person_id: int,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> dict[str, int]:
    """Anonymise the person everywhere we hold them; returns what was anonymised, by kind."""
    now = now or utcnow()

    def write() -> dict[str, int]:
        person = get_person(session, person_id=person_id)
        require_live(person)
        aliases = _aliases(session, person)
        for address in aliases:
            link_email(session, address, now)
        booking_ids = _booking_ids(session, person.id, aliases)
        counts = {"bookings": len(booking_ids), "aliases": len(aliases) - 1}
        if booking_ids:
            bookings = session.scalars(select(Booking).where(Booking.id.in_(booking_ids))).all()
            actors = {f"guest:{a}" for a in aliases}
            for booking in bookings:
                booking.guest_name = ERASED_NAME
                booking.guest_email = ""
                booking.guest_phone = ""
                booking.notes = ""
                booking.cancel_reason = ""
                booking.request_fingerprint = None
            counts["audit_entries"] = _scrub_audit(session, booking_ids, actors)
            counts["webhook_events"] = _scrub_webhooks(session, booking_ids)
        counts["vehicles"] = _scrub_vehicles(session, person.id)
        counts["invitations"] = _scrub_invitees(session, aliases)
        session.execute(update(Sale).where(Sale.person_id == person.id).values(vin=None))
        session.execute(
            update(Person)
            .where(Person.merged_into_id == person.id)
            .values(email=None, name="", phone="", notes="")
        )
        person.name = ERASED_NAME
        person.email = None
        person.phone = ""
        person.notes = ""
        for flag in ("marketing_email", "phone", "dealer_sharing"):
            setattr(person, f"consent_{flag}", False)
            setattr(person, f"consent_{flag}_at", now)
        person.erased_at = now
        person.updated_at = now
        session.flush()
        audit(
            session,
            actor=actor,
            person_id=person.id,
            action="erased",
            now=now,
            counts=counts,
            reason_given=bool(reason.strip()),
        )
        return counts

    return run_write(session, write)


def _aliases(session: Session, person: Person) -> list[str]:
    """The person's e-mail and those of the duplicates merged into them."""
    merged = session.scalars(
        select(Person.email).where(Person.merged_into_id == person.id, Person.email.is_not(None))
    ).all()
    return [a for a in [person.email, *merged] if a]


def _booking_ids(session: Session, person_id: int, aliases: list[str]) -> list[int]:
    linked = select(BookingPerson.booking_id).where(BookingPerson.person_id == person_id)
    query = select(Booking.id).where(Booking.id.in_(linked))
    if aliases:
        query = select(Booking.id).where(
            or_(Booking.id.in_(linked), func.lower(Booking.guest_email).in_(aliases))
        )
    return list(session.scalars(query).all())


def _scrub_audit(session: Session, booking_ids: list[int], actors: set[str]) -> int:
    count = 0
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.subject_kind == "booking", AuditEntry.subject_id.in_(booking_ids)
        )
    ).all()
    for entry in entries:
        data = dict(entry.data or {})
        scrubbed = {k: ("" if k in FREE_TEXT_KEYS and v else v) for k, v in data.items()}
        if scrubbed != data or entry.actor.lower() in actors:
            entry.data = scrubbed
            if entry.actor.lower() in actors:
                entry.actor = "guest:erased"
            count += 1
    return count


def _scrub_webhooks(session: Session, booking_ids: list[int]) -> int:
    events = session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.booking_id.in_(booking_ids), WebhookEvent.payload.is_not(None)
        )
    ).all()
    for event in events:
        payload = dict(event.payload or {})
        booking = dict(payload.get("booking") or {})
        booking["guest"] = {"name": ERASED_NAME, "email": "", "phone": ""}
        payload["booking"] = booking
        event.payload = payload
    return len(events)


def _scrub_vehicles(session: Session, person_id: int) -> int:
    vehicles = session.scalars(select(Vehicle).where(Vehicle.person_id == person_id)).all()
    for vehicle in vehicles:
        vehicle.vin = None
        if vehicle.unit_id is not None:
            unit = session.get(Unit, vehicle.unit_id)
            if unit is not None:
                unit.label = f"Customer car #{unit.id}"
                unit.attributes = {"model": vehicle.model}
                for pool in session.scalars(
                    select(Pool)
                    .join(pool_membership, pool_membership.c.pool_id == Pool.id)
                    .where(pool_membership.c.unit_id == unit.id, Pool.kind == unit.kind)
                ):
                    pool.code = f"customer-car-u{unit.id}"
                    pool.name = f"{vehicle.model} (customer car #{unit.id})"
    return len(vehicles)


def _scrub_invitees(session: Session, aliases: list[str]) -> int:
    if not aliases:
        return 0
    invitees = session.scalars(select(Invitee).where(Invitee.email_key.in_(aliases))).all()
    for invitee in invitees:
        invitee.name = ERASED_NAME
        invitee.email = f"erased-{invitee.id}@erased.invalid"
        invitee.email_key = invitee.email
        invitee.phone = ""
        invitee.note = ""
    return len(invitees)


def _document(session: Session, person: Person, now: datetime) -> dict[str, Any]:
    bookings = session.execute(
        visits_query(Booking, Product.code, Site.code, Dealer.code, BookingPerson.kind_at_visit)
        .outerjoin(Dealer, Dealer.id == BookingAttribution.dealer_id)
        .where(BookingPerson.person_id == person.id)
        .order_by(Booking.starts_at)
    ).all()
    booking_ids = [b.id for b, *_ in bookings]
    history: dict[int, list[dict[str, Any]]] = {i: [] for i in booking_ids}
    if booking_ids:
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_kind == "booking", AuditEntry.subject_id.in_(booking_ids))
            .order_by(AuditEntry.id)
        ):
            history[entry.subject_id].append(_audit_row(entry))
    webhooks = (
        session.execute(
            select(WebhookEvent, Dealer.code)
            .join(Dealer, Dealer.id == WebhookEvent.dealer_id)
            .where(WebhookEvent.booking_id.in_(booking_ids))
            .order_by(WebhookEvent.id)
        ).all()
        if booking_ids
        else []
    )
    dealer_code = (
        session.scalar(select(Dealer.code).where(Dealer.id == person.dealer_id))
        if person.dealer_id
        else None
    )
    return {
        "exported_at": now.isoformat(),
        "person": {
            **_columns(person),
            "dealer": dealer_code,
            "aliases": [a for a in _aliases(session, person) if a != person.email],
        },
        "consents": [
            _columns(c)
            for c in session.scalars(
                select(PersonConsent)
                .where(PersonConsent.person_id == person.id)
                .order_by(PersonConsent.id)
            )
        ],
        "bookings": [
            {
                **{k: v for k, v in _columns(b).items() if k not in PRIVATE_BOOKING_FIELDS},
                "product": product,
                "site": site,
                "dealer": dealer,
                "kind_at_visit": kind,
                "history": history[b.id],
            }
            for b, product, site, dealer, kind in bookings
        ],
        "vehicles": [
            _columns(v)
            for v in session.scalars(
                select(Vehicle).where(Vehicle.person_id == person.id).order_by(Vehicle.id)
            )
        ],
        "sales": [
            _columns(s)
            for s in session.scalars(
                select(Sale).where(Sale.person_id == person.id).order_by(Sale.id)
            )
        ],
        "conversions": [
            _columns(c)
            for c in session.scalars(
                select(Conversion).where(Conversion.person_id == person.id).order_by(Conversion.id)
            )
        ],
        "webhook_events": [
            {
                "id": event.id,
                "dealer": code,
                "type": event.event_type,
                "booking_id": event.booking_id,
                "occurred_at": event.occurred_at.isoformat(),
                "status": event.status,
                "payload": event.payload,
            }
            for event, code in webhooks
        ],
        "audit": [
            _audit_row(e)
            for e in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject_kind == SUBJECT, AuditEntry.subject_id == person.id)
                .order_by(AuditEntry.id)
            )
        ],
    }


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "data": entry.data,
    }


def _columns(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        value = getattr(row, column.key)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        out[column.key] = value
    return out
