"""Deliveries at the headquarters: the customer's own new car, a handover bay, a delivery
specialist and circuit time for its first miles.

The customer's car is a capacity unit (kind `customer_vehicle`) in a pool of its own, created
for the delivery; the booking demands that pool on top of the delivery product's demands, so
its time is allocated like any unit's and the same car cannot be in two places at once. The
vehicle ownership record and the link to the person are written in the booking's transaction
(through `create_booking`'s `on_admitted` hook)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.bookings.service import BookingResult, Guest
from paddock.capacity.engine import Demand
from paddock.capacity.models import Allocation, Pool, Unit, pool_membership
from paddock.catalog import service as catalog
from paddock.crm.models import BookingPerson, Person, Sale, Vehicle
from paddock.crm.people import audit, get_person, require_live
from paddock.crm.sales import clean_vin
from paddock.db import utcnow
from paddock.dealers.models import Dealer
from paddock.errors import DomainError, Invalid, NotFound
from paddock.unit_of_work import run_write

DELIVERY_PRODUCT = "atl-delivery"
CUSTOMER_VEHICLE = "customer_vehicle"


@dataclass
class DeliveryResult:
    booking: BookingResult
    vehicle: Vehicle
    unit_id: int


def schedule_delivery(
    session: Session,
    *,
    vin: str,
    model: str,
    person_id: int,
    starts_at: datetime,
    dealer_id: int | None = None,
    year: int | None = None,
    product_code: str = DELIVERY_PRODUCT,
    scope_dealer_id: int | None = None,
    actor: str = "system",
    now: datetime | None = None,
) -> DeliveryResult:
    """Book a delivery of the person's car at `starts_at`: a booking holding the car, a bay,
    a specialist and circuit time, plus the vehicle ownership record."""
    now = now or utcnow()
    clean = clean_vin(vin)
    if clean is None:
        raise Invalid("A delivery needs the car's VIN.")
    if not model.strip():
        raise Invalid("A delivery needs the car's model.")
    plan = catalog.product_plan(session, code=product_code)
    person = get_person(session, person_id=person_id, dealer_id=scope_dealer_id)
    require_live(person)
    if person.email is None:
        raise Invalid(f"Person #{person.id} has no e-mail for the delivery confirmation.")
    if scope_dealer_id is not None:
        dealer_id = scope_dealer_id
    if dealer_id is not None and session.get(Dealer, dealer_id) is None:
        raise NotFound(f"No dealer #{dealer_id}.")
    guest = Guest(person.name, person.email, person.phone)

    unit_id, pool_id, fresh = run_write(
        session, lambda: _customer_car(session, plan.site_id, clean, model.strip(), year)
    )
    car = Demand(
        pool_id=pool_id,
        pool_code=f"customer-car-{clean.lower()}",
        pool_name=f"Customer car {clean}",
        quantity=1,
        offset=timedelta(0),
        duration=plan.duration,
    )
    vehicles: list[Vehicle] = []

    def on_admitted(inner: Session, booking_id: int) -> None:
        vehicles.append(
            _record_ownership(
                inner, person.id, booking_id, clean, model.strip(), year, dealer_id, unit_id, now
            )
        )
        audit(
            inner,
            actor=actor,
            person_id=person.id,
            action="delivery_scheduled",
            now=now,
            booking=booking_id,
            vehicle=vehicles[-1].id,
        )

    try:
        result = bookings.create_booking(
            session,
            product_code=product_code,
            starts_at=starts_at,
            guest=guest,
            channel="delivery",
            actor=actor,
            now=now,
            extra_demands=(car,),
            on_admitted=on_admitted,
        )
    except DomainError:
        if fresh:
            run_write(session, lambda: _forget_car(session, unit_id, pool_id))
        raise
    return DeliveryResult(result, vehicles[-1], unit_id)


def _customer_car(
    session: Session, site_id: int, vin: str, model: str, year: int | None
) -> tuple[int, int, bool]:
    """The car's unit and its one-car pool at the site, made on first use."""
    code = f"customer-car-{vin.lower()}"
    pool = session.scalar(select(Pool).where(Pool.site_id == site_id, Pool.code == code))
    if pool is not None:
        unit_id = session.scalar(
            select(pool_membership.c.unit_id).where(pool_membership.c.pool_id == pool.id)
        )
        if unit_id is not None:
            return unit_id, pool.id, False
    unit = Unit(
        site_id=site_id,
        label=f"Customer car {vin}",
        kind=CUSTOMER_VEHICLE,
        attributes={"vin": vin, "model": model, "year": year},
    )
    if pool is None:
        pool = Pool(site_id=site_id, code=code, kind=CUSTOMER_VEHICLE, name=f"{model} {vin}")
        session.add(pool)
    unit.pools = [pool]
    session.add(unit)
    session.flush()
    return unit.id, pool.id, True


def _forget_car(session: Session, unit_id: int, pool_id: int) -> None:
    """A car made for a delivery that was not admitted leaves nothing behind."""
    used = session.scalar(
        select(func.count()).select_from(Allocation).where(Allocation.unit_id == unit_id)
    )
    if used:
        return
    session.execute(delete(pool_membership).where(pool_membership.c.unit_id == unit_id))
    session.execute(delete(Unit).where(Unit.id == unit_id))
    session.execute(delete(Pool).where(Pool.id == pool_id))


def _record_ownership(
    session: Session,
    person_id: int,
    booking_id: int,
    vin: str,
    model: str,
    year: int | None,
    dealer_id: int | None,
    unit_id: int,
    now: datetime,
) -> Vehicle:
    kind = session.scalar(select(Person.kind).where(Person.id == person_id))
    session.execute(
        insert(BookingPerson),
        {
            "booking_id": booking_id,
            "person_id": person_id,
            "kind_at_visit": kind,
            "linked_at": now,
        },
    )
    vehicle = session.scalar(
        select(Vehicle).where(Vehicle.person_id == person_id, Vehicle.vin == vin)
    )
    if vehicle is None:
        vehicle = Vehicle(person_id=person_id, vin=vin, model=model, created_at=now)
        session.add(vehicle)
    sale = session.scalar(
        select(Sale).where(Sale.person_id == person_id, Sale.vin == vin).order_by(Sale.id.desc())
    )
    vehicle.model = model
    vehicle.year = year or vehicle.year
    vehicle.dealer_id = dealer_id or vehicle.dealer_id or (sale.dealer_id if sale else None)
    vehicle.bought_on = vehicle.bought_on or (sale.sold_on if sale else None)
    vehicle.unit_id = unit_id
    vehicle.delivery_booking_id = booking_id
    session.flush()
    if sale is not None and sale.vehicle_id is None:
        sale.vehicle_id = vehicle.id
    return vehicle
