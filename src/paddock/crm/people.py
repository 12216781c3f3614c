"""People: find, create, change, consents, list (dealer-scoped, keyset-paginated), visit history,
and linking bookings to people by e-mail.

Linking keeps bookings independent of the CRM: bookings are written without knowing people,
and `link_bookings` (run by the app's background task, by `paddock crm link`, and by every CRM
use case for the e-mail it touches) attaches each booking to the person with that e-mail,
creating a prospect the first time an e-mail is seen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paddock.audit.models import AuditEntry
from paddock.audit.service import record
from paddock.bookings.models import Booking
from paddock.capacity.models import Site
from paddock.catalog.models import Product
from paddock.crm.models import (
    BookingPerson,
    ConsentPurpose,
    Person,
    PersonConsent,
    PersonKind,
    SyncCursor,
    Vehicle,
)
from paddock.db import UTCDateTime, utcnow
from paddock.dealers.models import BookingAttribution, Dealer
from paddock.errors import Conflict, Invalid, NotFound
from paddock.keyset import keyset_page
from paddock.unit_of_work import run_write

SUBJECT = "person"
LINK_CURSOR = "booking_person"
# A booking transaction is short (lock timeout 5 s): after this, no id below the highest one
# seen can still appear.
SETTLE = timedelta(minutes=2)


@dataclass(frozen=True)
class Visit:
    booking_id: int
    ref: str
    product_code: str
    product_name: str
    category: str
    site_code: str
    starts_at: datetime
    status: str
    kind_at_visit: str
    dealer_code: str | None


@dataclass(frozen=True)
class LinkReport:
    linked: int
    people_created: int


def normalise_email(text: str) -> str:
    """The address as we store and compare it: validated, lower-cased."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"'{text}' is not a valid e-mail address: {exc}") from exc
    return checked.normalized.lower()


def clean_name(text: str) -> str:
    value = " ".join(text.split())
    if len(value) < 2 or not any(ch.isalpha() for ch in value):
        raise Invalid("A person's name needs at least two characters, including letters.")
    if len(value) > 200:
        raise Invalid("A person's name is at most 200 characters.")
    return value


def audit(
    session: Session,
    *,
    actor: str,
    person_id: int,
    action: str,
    now: datetime,
    **data: Any,
) -> None:
    """Person audit entries carry ids and field names, never the personal data itself."""
    record(
        session,
        actor=actor,
        subject_kind=SUBJECT,
        subject_id=person_id,
        action=action,
        at=now,
        **data,
    )


def find_by_email(session: Session, email: str) -> Person | None:
    """The person with this address (or the one it was merged into)."""
    person = session.scalar(select(Person).where(Person.email == email.lower()))
    if person is not None and person.merged_into_id is not None:
        person = session.get(Person, person.merged_into_id)
    return person


def get_person(session: Session, *, person_id: int, dealer_id: int | None = None) -> Person:
    """A live person; with `dealer_id`, only one of that dealer's contacts (others: not found,
    so a dealer cannot tell another dealer's contact from a missing one)."""
    person = session.get(Person, person_id)
    if person is None or (dealer_id is not None and person.dealer_id != dealer_id):
        raise NotFound(f"No person #{person_id}.")
    if person.merged_into_id is not None:
        raise NotFound(
            f"Person #{person_id} was merged into #{person.merged_into_id}.",
            merged_into=person.merged_into_id,
        )
    return person


def require_live(person: Person) -> None:
    if person.erased_at is not None:
        raise Conflict(f"Person #{person.id} was erased on request; their data cannot change.")


def create_person(
    session: Session,
    *,
    name: str,
    email: str,
    phone: str = "",
    kind: str = PersonKind.PROSPECT,
    dealer_id: int | None = None,
    consents: Mapping[str, bool] | None = None,
    source: str = "manual",
    actor: str = "system",
    now: datetime | None = None,
) -> Person:
    now = now or utcnow()
    name = clean_name(name)
    address = normalise_email(email)
    _check_kind(kind)
    _check_dealer(session, dealer_id)

    def write() -> Person:
        if find_by_email(session, address) is not None:
            raise _already_known(address)
        person = Person(
            name=name,
            email=address,
            phone=phone.strip(),
            kind=kind,
            dealer_id=dealer_id,
            created_at=now,
            updated_at=now,
        )
        session.add(person)
        session.flush()
        apply_consents(session, person, consents or {}, source=source, now=now)
        link_email(session, address, now)
        audit(session, actor=actor, person_id=person.id, action="created", now=now, source=source)
        return person

    try:
        return run_write(session, write)
    except IntegrityError as exc:
        raise _already_known(address) from exc


def _already_known(address: str) -> Conflict:
    """One answer whoever holds the address (the caller, another dealer, the centre), with
    nothing of that person: a dealer cannot tell another dealer's contact from its own."""
    return Conflict(
        f"The e-mail {address} is already in the centre's CRM, so it cannot be added as a new "
        "contact. Search your contacts for it, or ask centre staff to link the person to you."
    )


def update_person(
    session: Session,
    *,
    person_id: int,
    scope_dealer_id: int | None = None,
    name: str | None = None,
    phone: str | None = None,
    kind: str | None = None,
    notes: str | None = None,
    dealer_id: int | None = None,
    clear_dealer: bool = False,
    actor: str = "system",
    now: datetime | None = None,
) -> Person:
    """Change a person's details. Moving a person to another dealer is for centre staff only
    (`scope_dealer_id` None)."""
    now = now or utcnow()

    def write() -> Person:
        person = get_person(session, person_id=person_id, dealer_id=scope_dealer_id)
        require_live(person)
        changed: list[str] = []
        if name is not None:
            person.name = clean_name(name)
            changed.append("name")
        if phone is not None:
            person.phone = phone.strip()
            changed.append("phone")
        if kind is not None:
            _check_kind(kind)
            person.kind = kind
            changed.append("kind")
        if notes is not None:
            person.notes = notes
            changed.append("notes")
        if dealer_id is not None or clear_dealer:
            if scope_dealer_id is not None:
                raise Invalid("Only centre staff can change which dealer a person belongs to.")
            _check_dealer(session, dealer_id)
            person.dealer_id = None if clear_dealer else dealer_id
            changed.append("dealer")
        person.updated_at = now
        audit(session, actor=actor, person_id=person.id, action="updated", now=now, fields=changed)
        return person

    return run_write(session, write)


def set_consents(
    session: Session,
    *,
    person_id: int,
    changes: Mapping[str, bool],
    source: str,
    scope_dealer_id: int | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> Person:
    now = now or utcnow()
    if not changes:
        raise Invalid("Give at least one consent to record.")

    def write() -> Person:
        person = get_person(session, person_id=person_id, dealer_id=scope_dealer_id)
        require_live(person)
        apply_consents(session, person, changes, source=source, now=now)
        person.updated_at = now
        audit(
            session,
            actor=actor,
            person_id=person.id,
            action="consent",
            now=now,
            **{k: bool(v) for k, v in changes.items()},
        )
        return person

    return run_write(session, write)


def apply_consents(
    session: Session,
    person: Person,
    changes: Mapping[str, bool],
    *,
    source: str,
    now: datetime,
    version: str = "",
) -> None:
    """Record each decision in the history and as the person's current flag (same transaction)."""
    for purpose, granted in changes.items():
        if purpose not in set(ConsentPurpose):
            raise Invalid(
                f"Unknown consent '{purpose}'; use one of: "
                + ", ".join(p.value for p in ConsentPurpose)
            )
        setattr(person, f"consent_{purpose}", bool(granted))
        setattr(person, f"consent_{purpose}_at", now)
        session.add(
            PersonConsent(
                person_id=person.id,
                purpose=purpose,
                granted=bool(granted),
                recorded_at=now,
                source=source,
                version=version,
            )
        )
    session.flush()


def list_people(
    session: Session,
    *,
    dealer_id: int | None = None,
    kind: str | None = None,
    search: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> Sequence[Person]:
    """Live people by id, `limit` at a time after `after_id` (keyset pagination: the cost of a
    page does not grow with its depth). `dealer_id` confines the list to that dealer."""
    query = people_query(dealer_id=dealer_id, kind=kind, search=search)
    return session.scalars(keyset_page(query, Person.id, after=after_id, limit=limit)).all()


def people_query(
    *,
    dealer_id: int | None = None,
    kind: str | None = None,
    search: str | None = None,
) -> Select[Person]:
    query = select(Person).where(Person.merged_into_id.is_(None), Person.erased_at.is_(None))
    if dealer_id is not None:
        query = query.where(Person.dealer_id == dealer_id)
    if kind:
        _check_kind(kind)
        query = query.where(Person.kind == kind)
    if search:
        needle = search.strip().lower()
        query = query.where(
            or_(Person.email.startswith(needle), func.lower(Person.name).contains(needle))
        )
    return query


def visits_query(*columns: Any) -> Select[Any]:
    """`columns` of each visit: a booking with the person who came (`BookingPerson`), its
    `Product`, its `Site` and, when a dealer brought it, its `BookingAttribution`."""
    return (
        select(*columns)
        .join(BookingPerson, BookingPerson.booking_id == Booking.id)
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
        .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
    )


def visits(session: Session, *, person_id: int) -> list[Visit]:
    """The person's bookings (visit history), newest first."""
    rows = session.execute(
        visits_query(
            Booking.id,
            Booking.ref,
            Product.code,
            Product.name,
            Product.category,
            Site.code,
            Booking.starts_at,
            Booking.status,
            BookingPerson.kind_at_visit,
            Dealer.code,
        )
        .outerjoin(Dealer, Dealer.id == BookingAttribution.dealer_id)
        .where(BookingPerson.person_id == person_id)
        .order_by(Booking.starts_at.desc(), Booking.id.desc())
    ).all()
    return [
        Visit(
            booking_id=b_id,
            ref=ref,
            product_code=code,
            product_name=name,
            category=category,
            site_code=site,
            starts_at=starts,
            status=status,
            kind_at_visit=kind,
            dealer_code=dealer,
        )
        for b_id, ref, code, name, category, site, starts, status, kind, dealer in rows
    ]


def link_bookings(
    session: Session, *, now: datetime | None = None, settle: timedelta = SETTLE
) -> LinkReport:
    """Attach every booking not yet linked to the person with its e-mail (creating prospects).
    Idempotent and safe to run from several processes; cheap when there is nothing new: it only
    looks at bookings above a settled watermark."""
    now = now or utcnow()
    wall = utcnow()

    def write() -> LinkReport:
        cursor = session.get(SyncCursor, LINK_CURSOR)
        if cursor is None:
            cursor = SyncCursor(name=LINK_CURSOR, safe_id=0, pending_id=0, pending_at=wall)
            session.add(cursor)
        floor = cursor.safe_id
        report = _link(session, now, Booking.id > floor)
        if cursor.pending_at <= wall - settle or cursor.pending_id == 0:
            # Everything up to the id seen a settle-time ago has committed (or never will),
            # and this pass linked it: the next pass can start there.
            cursor.safe_id = max(cursor.safe_id, cursor.pending_id)
            cursor.pending_id = session.scalar(select(func.max(Booking.id))) or 0
            cursor.pending_at = wall
        return report

    for attempt in range(3):
        try:
            return run_write(session, write)
        except IntegrityError:
            # Another linker created the same person or link first: the next pass sees it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def link_email(session: Session, email: str, now: datetime) -> LinkReport:
    """Inside the caller's transaction: link this address's unlinked bookings now."""
    return _link(session, now, func.lower(Booking.guest_email) == email.lower())


def _link(session: Session, now: datetime, scope: Any) -> LinkReport:
    """Link the unlinked bookings in `scope` in three statements whatever their number: new
    prospects (one per new address, from its first booking), the links, and the dealer of
    people who had none and came through a dealer."""
    email = func.lower(Booking.guest_email)
    unlinked = and_(
        scope,
        Booking.guest_email != "",
        ~exists().where(BookingPerson.booking_id == Booking.id),
    )
    first_of_address = (
        select(func.min(Booking.id)).where(unlinked).group_by(email).scalar_subquery()
    )
    newcomers = (
        select(
            Booking.guest_name,
            email,
            Booking.guest_phone,
            literal(str(PersonKind.PROSPECT)),
            BookingAttribution.dealer_id,
            *(literal(False) for _ in CONSENTS),
            literal(""),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .where(
            Booking.id.in_(first_of_address),
            ~exists().where(Person.email == email),
        )
    )
    person_columns = ["name", "email", "phone", "kind", "dealer_id", *CONSENTS, "notes"]
    new_people = _insert_ignoring_duplicates(session).from_select(
        [*person_columns, "created_at", "updated_at"], newcomers
    )
    created = _people_created(session, new_people, now)
    survivor = Person.__table__.alias("survivor")
    links = insert(BookingPerson).from_select(
        ["booking_id", "person_id", "kind_at_visit", "linked_at"],
        select(
            Booking.id,
            func.coalesce(survivor.c.id, Person.id),
            func.coalesce(survivor.c.kind, Person.kind),
            literal(now, UTCDateTime()),
        )
        .join(Person, Person.email == email)
        .outerjoin(survivor, survivor.c.id == Person.merged_into_id)
        .where(unlinked),
    )
    linked = _count_written(session, links.returning(BookingPerson.booking_id))
    # A dealer who invited someone without a dealer becomes their dealer (the first such
    # booking's dealer): only people linked now through an attributed booking are looked at.
    claims = (
        select(BookingPerson.person_id, BookingAttribution.dealer_id)
        .join(BookingAttribution, BookingAttribution.booking_id == BookingPerson.booking_id)
        .join(Booking, Booking.id == BookingPerson.booking_id)
        .where(scope, BookingPerson.linked_at == now)
    )
    first_dealer = (
        claims.with_only_columns(BookingAttribution.dealer_id)
        .where(BookingPerson.person_id == Person.id)
        .order_by(BookingPerson.booking_id)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        update(Person)
        .where(
            Person.dealer_id.is_(None),
            Person.id.in_(claims.with_only_columns(BookingPerson.person_id)),
        )
        .values(dealer_id=first_dealer)
    )
    return LinkReport(linked, created)


def _people_created(session: Session, new_people: Any, now: datetime) -> int:
    """Create the prospects and audit their creation; on PostgreSQL in one statement, so
    their ids never travel to Python and back (a pass may create thousands)."""
    entry = {"source": "booking"}
    columns = ["at", "actor", "subject_kind", "subject_id", "action", "data"]
    if session.get_bind().dialect.name == "postgresql":
        created = new_people.returning(Person.id).cte("created")
        audited = (
            insert(AuditEntry)
            .from_select(
                columns,
                select(
                    literal(now, UTCDateTime()),
                    literal("system:link"),
                    literal(SUBJECT),
                    created.c.id,
                    literal("created"),
                    literal(entry, AuditEntry.data.type),
                ),
            )
            .cte("audited")
        )
        count = select(func.count()).select_from(created).add_cte(audited)
        return int(session.scalar(count) or 0)
    ids = session.scalars(new_people.returning(Person.id)).all()
    if ids:
        session.execute(
            insert(AuditEntry),
            [
                {
                    "at": now,
                    "actor": "system:link",
                    "subject_kind": SUBJECT,
                    "subject_id": person_id,
                    "action": "created",
                    "data": entry,
                }
                for person_id in ids
            ],
        )
    return len(ids)


def _count_written(session: Session, statement: Any) -> int:
    if session.get_bind().dialect.name == "postgresql":
        written = statement.cte("written")
        return int(session.scalar(select(func.count()).select_from(written)) or 0)
    return len(session.scalars(statement).all())


CONSENTS = ("consent_marketing_email", "consent_phone", "consent_dealer_sharing")


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT INTO person ... ON CONFLICT DO NOTHING: a linker in another process may create
    the same prospect first; this pass then links to theirs."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(Person).on_conflict_do_nothing()
    return sqlite_insert(Person).on_conflict_do_nothing()


def _check_kind(kind: str) -> None:
    if kind not in set(PersonKind):
        raise Invalid(f"A person is a 'prospect' or a 'client', not '{kind}'.")


def _check_dealer(session: Session, dealer_id: int | None) -> None:
    if dealer_id is not None and session.get(Dealer, dealer_id) is None:
        raise NotFound(f"No dealer #{dealer_id}.")


def vehicles_of(
    session: Session, *, person_id: int
) -> list[tuple[Vehicle, str | None, str | None]]:
    """The person's cars, with the selling dealer's code and the delivery booking's ref."""
    rows = session.execute(
        select(Vehicle, Dealer.code, Booking.ref)
        .outerjoin(Dealer, Dealer.id == Vehicle.dealer_id)
        .outerjoin(Booking, Booking.id == Vehicle.delivery_booking_id)
        .where(Vehicle.person_id == person_id)
        .order_by(Vehicle.id)
    ).all()
    return [(vehicle, dealer, ref) for vehicle, dealer, ref in rows]
