"""The demo's people: clients and prospects behind the demo bookings (some come back), their
consents, the cars clients own, the deliveries in the history (each with the customer's own car
as a unit), and sales after test drives at a plausible conversion rate, so the KPIs mean
something when `make demo` starts. Deterministic for a given seed; loaded after the dealers.

Plausible guesses, not sourced: a quarter of guests already own a car of the brand; about one
prospect in seven who drove buys within 90 days; one guest in ten comes back."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from paddock.bookings.models import Booking, BookingStatus
from paddock.capacity.models import Allocation, Pool, Site, Unit
from paddock.catalog.models import Product
from paddock.crm import service as crm
from paddock.crm.deliveries import CUSTOMER_VEHICLE, DELIVERY_PRODUCT
from paddock.crm.models import (
    BookingPerson,
    Conversion,
    Person,
    PersonConsent,
    PersonKind,
    Sale,
    Vehicle,
)
from paddock.crm.people import visits_query
from paddock.dealers.models import BookingAttribution, Dealer
from paddock.errors import DomainError
from paddock.unit_of_work import write_transaction

CLIENT_SHARE = 0.25
RETURNING_SHARE = 0.10
CONVERSION_SHARE = 0.14
CONSENT_ODDS = {"marketing_email": 0.55, "phone": 0.3, "dealer_sharing": 0.4}
MODELS = (
    "911 Carrera S",
    "911 Turbo S",
    "911 GT3",
    "718 Cayman GTS",
    "Taycan 4S",
    "Cayenne",
    "Macan",
    "Panamera 4",
)
DELIVERIES_AHEAD = 4


def load_crm(session: Session, rng: random.Random, today: date) -> dict[str, int]:
    local = random.Random(rng.getrandbits(64))  # our draws do not shift anyone else's
    now = datetime.now(UTC)
    with write_transaction(session):
        _returning_guests(session, local)
    with write_transaction(session):
        clients = _existing_clients(session, local, now)
    linked = crm.link_bookings(session, now=now)
    with write_transaction(session):
        consents = _consents(session, local, now)
    deliveries = _history_deliveries(session, local, today, now)
    _sales(session, local, today, now)
    scheduled = _scheduled_deliveries(session, local, today)
    return {
        "people": _count(session, Person),
        "clients before": clients,
        "bookings linked": linked.linked,
        "consents": consents,
        "deliveries": deliveries + scheduled,
        "sales": _count(session, Sale),
        "conversions": _count(session, Conversion),
    }


def _returning_guests(session: Session, local: random.Random) -> None:
    """One guest in ten has been before: their booking takes an earlier guest's identity."""
    rows = session.execute(
        select(Booking.id, Booking.guest_name, Booking.guest_email, Booking.guest_phone)
        .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .where(BookingAttribution.booking_id.is_(None))
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    seen: list[tuple[str, str, str]] = []
    changes: list[dict[str, Any]] = []
    for booking_id, name, email, phone in rows:
        if seen and local.random() < RETURNING_SHARE:
            name, email, phone = local.choice(seen)
            changes.append(
                {"id": booking_id, "guest_name": name, "guest_email": email, "guest_phone": phone}
            )
        else:
            seen.append((name, email, phone))
    if changes:
        session.execute(update(Booking), changes)


def _existing_clients(session: Session, local: random.Random, now: datetime) -> int:
    """A quarter of the guests already own a car of the brand, bought from a dealer near them."""
    guests = session.execute(
        select(
            func.lower(Booking.guest_email),
            func.min(Booking.guest_name),
            func.min(Booking.guest_phone),
            func.min(Booking.site_id),
            func.max(BookingAttribution.dealer_id),
        )
        .outerjoin(BookingAttribution, BookingAttribution.booking_id == Booking.id)
        .group_by(func.lower(Booking.guest_email))
        .order_by(func.lower(Booking.guest_email))
    ).all()
    dealers = _dealers_by_site(session)
    people: list[dict[str, Any]] = []
    cars: list[tuple[int, dict[str, Any]]] = []
    for email, name, phone, site_id, dealer_id in guests:
        if local.random() >= CLIENT_SHARE:
            continue
        dealer_id = dealer_id or local.choice(dealers[site_id])
        created = now - timedelta(days=local.randint(400, 3000))
        people.append(
            {
                "name": name,
                "email": email,
                "phone": phone,
                "kind": PersonKind.CLIENT,
                "dealer_id": dealer_id,
                "created_at": created,
                "updated_at": created,
            }
        )
        bought = (created + timedelta(days=local.randint(0, 60))).date()
        cars.append(
            (
                len(people) - 1,
                {
                    "vin": _vin(local),
                    "model": local.choice(MODELS),
                    "year": bought.year,
                    "bought_on": bought,
                    "dealer_id": dealer_id,
                    "created_at": created,
                },
            )
        )
    if not people:
        return 0
    ids = session.scalars(
        insert(Person).returning(Person.id, sort_by_parameter_order=True), people
    ).all()
    session.execute(insert(Vehicle), [{**car, "person_id": ids[index]} for index, car in cars])
    return len(ids)


def _consents(session: Session, local: random.Random, now: datetime) -> int:
    people = session.execute(select(Person.id, Person.created_at).order_by(Person.id)).all()
    history: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for person_id, created in people:
        row: dict[str, Any] = {"id": person_id}
        for purpose, odds in CONSENT_ODDS.items():
            granted = local.random() < odds
            at = min(created + timedelta(minutes=local.randint(1, 600)), now)
            row[f"consent_{purpose}"] = granted
            row[f"consent_{purpose}_at"] = at
            history.append(
                {
                    "person_id": person_id,
                    "purpose": purpose,
                    "granted": granted,
                    "recorded_at": at,
                    "source": "booking form",
                }
            )
        flags.append(row)
    if flags:
        session.execute(update(Person), flags)
        session.execute(insert(PersonConsent), history)
    return len(history)


def _history_deliveries(session: Session, local: random.Random, today: date, now: datetime) -> int:
    """Each delivery booking of the history gets the customer's car: a unit in a pool of its
    own, allocated for the delivery like a fleet car, a sale a few days before and the
    ownership record."""
    rows = session.execute(
        select(Booking, Site)
        .join(Product, Product.id == Booking.product_id)
        .join(Site, Site.id == Booking.site_id)
        .where(Product.code == DELIVERY_PRODUCT)
        .order_by(Booking.id)
    ).all()
    dealers = _dealers_by_site(session)
    owners = _owners(session, [b.id for b, _ in rows])
    count = 0
    for booking, site in rows:
        person_id = owners.get(booking.id)
        if person_id is None:
            continue
        vin, model = _vin(local), local.choice(MODELS)
        sold = min(booking.starts_at.date() - timedelta(days=local.randint(3, 20)), today)
        dealer_id = local.choice(dealers[site.id])
        result = crm.record_sale(
            session,
            sale=crm.SaleInput(
                email=booking.guest_email,
                name=booking.guest_name,
                model=model,
                sold_on=sold,
                deal_ref=f"DLV-{booking.id}",
                vin=vin,
                year=booking.starts_at.year,
            ),
            dealer_id=dealer_id,
            source="demo",
            actor="demo",
            now=now,
        )
        # The sale committed: now the car as a unit, allocated to its delivery.
        with write_transaction(session):
            pool = Pool(
                site_id=site.id,
                code=f"customer-car-{vin.lower()}",
                kind=CUSTOMER_VEHICLE,
                name=f"{model} {vin}",
            )
            unit = Unit(
                site_id=site.id,
                label=f"Customer car {vin}",
                kind=CUSTOMER_VEHICLE,
                attributes={"vin": vin, "model": model, "year": booking.starts_at.year},
            )
            unit.pools = [pool]
            session.add_all([pool, unit])
            session.flush()
            session.execute(
                insert(Allocation),
                {
                    "engagement_kind": "booking",
                    "engagement_id": booking.id,
                    "unit_id": unit.id,
                    "pool_id": pool.id,
                    "starts_at": booking.starts_at,
                    "ends_at": booking.ends_at,
                    "active": booking.status not in _ENDED,
                    "expires_at": None,
                },
            )
            session.execute(
                update(Vehicle)
                .where(Vehicle.id == result.sale.vehicle_id)
                .values(unit_id=unit.id, delivery_booking_id=booking.id)
            )
        count += 1
    return count


_ENDED = (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)


def _sales(session: Session, local: random.Random, today: date, now: datetime) -> None:
    """About one prospect in seven who drove buys within 90 days, mostly from the dealer who
    invited them (else one near the centre)."""
    visits = session.execute(
        visits_query(
            Booking.starts_at,
            Booking.guest_email,
            Booking.guest_name,
            Booking.site_id,
            BookingAttribution.dealer_id,
            BookingPerson.person_id,
        )
        .where(
            Product.category == "driving",
            Booking.status == BookingStatus.COMPLETED,
            BookingPerson.kind_at_visit == PersonKind.PROSPECT,
        )
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    dealers = _dealers_by_site(session)
    buyers: set[int] = set()
    for starts_at, email, name, site_id, invited_by, person_id in visits:
        if person_id in buyers or local.random() >= CONVERSION_SHARE:
            continue
        # Most who buy decide within weeks of the drive.
        sold = starts_at.date() + timedelta(days=min(2 + int(local.expovariate(1 / 18)), 85))
        if sold > today:
            continue
        buyers.add(person_id)
        dealer_id = invited_by if invited_by and local.random() < 0.8 else None
        crm.record_sale(
            session,
            sale=crm.SaleInput(
                email=email,
                name=name,
                model=local.choice(MODELS),
                sold_on=sold,
                deal_ref=f"S-{person_id}-{sold:%y%m%d}",
                vin=_vin(local),
                year=sold.year,
            ),
            dealer_id=dealer_id or local.choice(dealers[site_id]),
            source="demo",
            actor="demo",
            now=now,
        )


def _scheduled_deliveries(session: Session, local: random.Random, today: date) -> int:
    """A few deliveries booked through the service for the coming weeks, for recent buyers."""
    buyers = session.execute(
        select(Person.id, Person.dealer_id)
        .join(Vehicle, Vehicle.person_id == Person.id)
        .where(Vehicle.delivery_booking_id.is_(None), Vehicle.bought_on >= today - timedelta(30))
        .order_by(Person.id)
        .limit(DELIVERIES_AHEAD * 3)
    ).all()
    zone_site = session.scalar(
        select(Site)
        .join(Product, Product.site_id == Site.id)
        .where(Product.code == DELIVERY_PRODUCT)
    )
    if zone_site is None:
        return 0
    done = 0
    for person_id, dealer_id in buyers:
        if done >= DELIVERIES_AHEAD:
            break
        day = today + timedelta(days=local.randint(3, 20))
        start = datetime.combine(day, time(local.choice((9, 11, 14))), tzinfo=UTC)
        try:
            crm.schedule_delivery(
                session,
                vin=_vin(local),
                model=local.choice(MODELS),
                person_id=person_id,
                dealer_id=dealer_id,
                starts_at=_on_the_hour(start, zone_site.time_zone),
                actor="demo",
            )
        except DomainError:
            continue  # that slot is taken: the demo simply has one delivery fewer
        done += 1
    return done


def _owners(session: Session, booking_ids: list[int]) -> dict[int, int]:
    if not booking_ids:
        return {}
    return dict(
        session.execute(
            select(BookingPerson.booking_id, BookingPerson.person_id).where(
                BookingPerson.booking_id.in_(booking_ids)
            )
        ).all()
    )


def _dealers_by_site(session: Session) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for dealer_id, site_id in session.execute(
        select(Dealer.id, Dealer.home_site_id).order_by(Dealer.id)
    ):
        if site_id is not None:
            out[site_id].append(dealer_id)
    for site_id in session.scalars(select(Site.id)):
        if not out[site_id]:
            out[site_id] = [d for ids in list(out.values()) for d in ids][:1]
    return out


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _on_the_hour(moment: datetime, zone_name: str) -> datetime:
    """The same wall-clock hour at the site."""
    return moment.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)


def _vin(local: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return "WP0" + "".join(local.choice(alphabet) for _ in range(14))
