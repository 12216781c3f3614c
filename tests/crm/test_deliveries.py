"""Deliveries: the customer's own car is a unit allocated like any other, next to a handover
bay, a specialist and circuit time; the ownership record is written with the booking."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paddock.capacity.models import Pool, Unit
from paddock.catalog import service as catalog_service
from paddock.catalog.models import Product, ProductDemand
from paddock.crm import service as crm
from paddock.crm.models import BookingPerson, Vehicle
from paddock.errors import Invalid, SoldOut
from tests.crm.helpers import make_dealer
from tests.factories import MONDAY, World, at, make_world

VIN = "WP0AA2A91SS206201"
OTHER_VIN = "WP0AA2A91SS206202"


def delivery_world(session: Session) -> World:
    world = make_world(session)
    for code, kind, count in (("bay", "bay", 1), ("specialist", "specialist", 2)):
        pool = Pool(site_id=world.site.id, code=code, kind=kind, name=code.title())
        session.add(pool)
        for n in range(1, count + 1):
            unit = Unit(site_id=world.site.id, label=f"{code.title()} {n}", kind=kind)
            unit.pools = [pool]
            session.add(unit)
        world.pools[code] = pool
    product = Product(
        site_id=world.site.id,
        code="delivery",
        name="Delivery",
        category="delivery",
        duration_minutes=120,
        slot_step_minutes=60,
        price_cents=0,
        public=False,
    )
    product.demands = [
        ProductDemand(pool=world.pools["bay"], quantity=1, offset_minutes=0, duration_minutes=60),
        ProductDemand(
            pool=world.pools["specialist"], quantity=1, offset_minutes=0, duration_minutes=120
        ),
        ProductDemand(
            pool=world.pools["module"], quantity=1, offset_minutes=75, duration_minutes=30
        ),
    ]
    session.add(product)
    session.commit()
    catalog_service.invalidate_cache()
    return world


def deliver(session: Session, person_id: int, vin: str, hour: int, **extra: object) -> object:
    return crm.schedule_delivery(
        session,
        vin=vin,
        model="911 Carrera S",
        year=2031,
        person_id=person_id,
        starts_at=at(MONDAY, hour),
        product_code="delivery",
        actor="ops",
        now=at(MONDAY, 6),
        **extra,  # type: ignore[arg-type]
    )


def test_delivery_books_the_customers_car_with_bay_specialist_and_circuit(
    session: Session,
) -> None:
    delivery_world(session)
    dealer = make_dealer(session)
    ann = crm.create_person(session, name="Ann Lee", email="ann@example.com")
    result = crm.schedule_delivery(
        session,
        vin=VIN.lower(),
        model="911 Carrera S",
        year=2031,
        person_id=ann.id,
        dealer_id=dealer.id,
        starts_at=at(MONDAY, 10),
        product_code="delivery",
        actor="ops",
        now=at(MONDAY, 6),
    )
    booking = result.booking
    assert booking.status == "confirmed" and booking.booking.channel == "delivery"
    labels = sorted(re.sub(r" \d+$", "", r.unit_label) for r in booking.resources)
    assert labels == ["Bay", f"Customer car {VIN}", "Position", "Specialist"]
    car = next(r for r in booking.resources if r.unit_label.startswith("Customer car"))
    assert (car.starts_at, car.ends_at) == (at(MONDAY, 10), at(MONDAY, 12))
    unit = session.get(Unit, result.unit_id)
    assert unit is not None and unit.kind == "customer_vehicle"
    vehicle = session.get(Vehicle, result.vehicle.id)
    assert vehicle is not None
    assert (vehicle.vin, vehicle.person_id, vehicle.dealer_id) == (VIN, ann.id, dealer.id)
    assert vehicle.delivery_booking_id == booking.booking.id and vehicle.unit_id == unit.id
    linked = session.scalar(
        select(BookingPerson.person_id).where(BookingPerson.booking_id == booking.booking.id)
    )
    assert linked == ann.id


def test_a_car_cannot_be_delivered_twice_at_once(session: Session) -> None:
    delivery_world(session)
    ann = crm.create_person(session, name="Ann Lee", email="ann@example.com")
    bob = crm.create_person(session, name="Bob Ray", email="bob@example.com")
    deliver(session, ann.id, VIN, 10)
    # Same car an hour later: the bay is free again, but the car is still at its delivery.
    with pytest.raises(SoldOut) as caught:
        deliver(session, ann.id, VIN, 11)
    assert caught.value.extra["binding_pool"] == f"customer-car-{VIN.lower()}"
    # Another car at the same time: one bay only, and the new car leaves no unit behind.
    units = session.scalar(select(func.count()).select_from(Unit))
    with pytest.raises(SoldOut) as caught:
        deliver(session, bob.id, OTHER_VIN, 10)
    assert caught.value.extra["binding_pool"] == "bay"
    assert session.scalar(select(func.count()).select_from(Unit)) == units
    # The customer car is no fleet car: only its own pool holds it.
    car_pools = session.scalars(select(Pool.code).where(Pool.kind == "customer_vehicle")).all()
    assert car_pools == [f"customer-car-{VIN.lower()}"]
    deliver(session, bob.id, OTHER_VIN, 13)


def test_delivery_needs_a_real_vin(session: Session) -> None:
    delivery_world(session)
    ann = crm.create_person(session, name="Ann Lee", email="ann@example.com")
    with pytest.raises(Invalid, match="VIN"):
        deliver(session, ann.id, "WP0-NOT-A-VIN", 10)
