"""Small hand-countable worlds for tests, built with the ORM like the demo loader does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.capacity.models import Allocation, Pool, Site, SiteHours, Unit, UnitShift
from paddock.catalog import service as catalog_service
from paddock.catalog.models import Product, ProductDemand

# A Monday far enough ahead that "already passed" never triggers.
MONDAY = date(2031, 6, 2)
NEW_YORK = ZoneInfo("America/New_York")


def at(day: date, hh: int, mm: int = 0, zone: ZoneInfo = NEW_YORK) -> datetime:
    """A local wall-clock time at the site, as a UTC instant."""
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


@dataclass
class World:
    site: Site
    pools: dict[str, Pool] = field(default_factory=dict)
    units: dict[str, list[Unit]] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)


def make_world(
    session: Session,
    *,
    cars: int = 2,
    coaches: int = 2,
    positions: int = 8,
    time_zone: str = "America/New_York",
    opening: tuple[str, str] = ("08:00", "18:00"),
    coach_shift: tuple[str, str] | None = None,
) -> World:
    """One site open every day; a car pool, a coach pool and a circuit module pool; a 90-minute
    coached drive (car + coach for 90 min, module position for the middle 60) and a 30-minute
    simulator session."""
    site = Site(code="TST", name="Test centre", city="Testville", time_zone=time_zone)
    site.hours = [
        SiteHours(
            weekday=d,
            opens_at=time.fromisoformat(opening[0]),
            closes_at=time.fromisoformat(opening[1]),
        )
        for d in range(7)
    ]
    session.add(site)
    session.flush()
    world = World(site)
    for code, kind, count, label in (
        ("car", "vehicle_model", cars, "Car"),
        ("coach", "coach", coaches, "Coach"),
        ("module", "module", positions, "Position"),
        ("sim", "simulator", 1, "Rig"),
    ):
        pool = Pool(site_id=site.id, code=code, kind=kind, name=code.capitalize() + "s")
        if kind == "vehicle_model":
            pool.public_name = "cars"  # what guests read; the others keep their kind's wording
        session.add(pool)
        units = []
        for n in range(count):
            unit = Unit(site_id=site.id, label=f"{label} {n + 1}", kind=kind, usage_minutes=n)
            unit.pools = [pool]
            if kind == "coach" and coach_shift:
                unit.shifts = [
                    UnitShift(
                        weekday=d,
                        starts_at=time.fromisoformat(coach_shift[0]),
                        ends_at=time.fromisoformat(coach_shift[1]),
                    )
                    for d in range(7)
                ]
            session.add(unit)
            units.append(unit)
        world.pools[code] = pool
        world.units[code] = units
    drive = Product(
        site_id=site.id,
        code="drive",
        name="Coached drive",
        duration_minutes=90,
        slot_step_minutes=30,
        price_cents=60000,
        free_cancel_hours=0,  # free until the start (tests of the policy set their own)
    )
    drive.demands = [
        ProductDemand(pool=world.pools["car"], quantity=1, offset_minutes=0, duration_minutes=90),
        ProductDemand(pool=world.pools["coach"], quantity=1, offset_minutes=0, duration_minutes=90),
        ProductDemand(
            pool=world.pools["module"], quantity=1, offset_minutes=15, duration_minutes=60
        ),
    ]
    sim = Product(
        site_id=site.id,
        code="sim",
        name="Simulator",
        duration_minutes=30,
        slot_step_minutes=30,
        price_cents=3500,
        free_cancel_hours=0,
    )
    sim.demands = [
        ProductDemand(pool=world.pools["sim"], quantity=1, offset_minutes=0, duration_minutes=30)
    ]
    session.add_all([drive, sim])
    session.commit()
    world.products = {"drive": drive, "sim": sim}
    catalog_service.invalidate_cache()
    return world


def later(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=minutes)


def booking_units(session: Session, booking_id: int) -> list[tuple[int, int]]:
    """A booking's live allocations as sorted (pool, unit) pairs; ends the read."""
    rows = session.execute(
        select(Allocation.pool_id, Allocation.unit_id).where(
            Allocation.engagement_kind == "booking",
            Allocation.engagement_id == booking_id,
            Allocation.active.is_(True),
        )
    ).all()
    session.rollback()
    return sorted((int(p), int(u)) for p, u in rows)
