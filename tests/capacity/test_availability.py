"""Availability and booking across daylight-saving changes on a real database (SQLite and
PostgreSQL): Los Angeles and New York sites, site hours and coach shifts in local time."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from paddock.bookings import service as bookings
from paddock.capacity import engine
from paddock.capacity import service as capacity
from paddock.capacity.busy import parse_sqlite_instants, read_busy
from paddock.capacity.models import Allocation, Block
from paddock.catalog import service as catalog
from tests.factories import at, make_world

SPRING_FORWARD = date(2031, 3, 9)
FALL_BACK = date(2031, 11, 2)


@pytest.mark.parametrize("zone_name", ["America/Los_Angeles", "America/New_York"])
@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK], ids=["spring", "fall"])
def test_slots_and_bookings_keep_local_times_across_a_change(
    session: Session, zone_name: str, change: date
) -> None:
    zone = ZoneInfo(zone_name)
    make_world(session, time_zone=zone_name, coach_shift=("09:30", "18:00"))
    saturday, monday = change - timedelta(days=1), change + timedelta(days=1)
    now = at(saturday, 0, zone=zone) - timedelta(days=1)
    result = catalog.availability(
        session, product_code="drive", date_from=saturday, date_to=monday, now=now
    )
    grid: dict[date, list[str]] = {}
    free: dict[date, list[str]] = {}
    for slot in result.slots:
        local = slot.starts_at.astimezone(zone)
        grid.setdefault(local.date(), []).append(f"{local:%H:%M}")
        if slot.remaining:
            assert slot.remaining == 2  # two cars, two coaches
            free.setdefault(local.date(), []).append(f"{local:%H:%M}")
        else:
            assert slot.shortfall is not None and slot.shortfall.pool_code == "coach"
    days = (saturday, change, monday)
    # The site opens at 08:00 local and the last 90-minute drive starts at 16:30, every day.
    opening = [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in (0, 30)]
    assert grid == dict.fromkeys(days, opening)
    # Coaches start at 09:30 local: the first drive with a coach is then, whatever the offset.
    assert free == dict.fromkeys(days, opening[3:])
    # A booking at 09:30 local on the change day takes the units at 09:30 local.
    start = at(change, 9, 30, zone=zone)
    booked = bookings.create_booking(
        session,
        product_code="drive",
        starts_at=start,
        guest=bookings.Guest("Ann Lee", "ann@example.com"),
        now=now,
    )
    assert {f"{r.starts_at.astimezone(zone):%H:%M}" for r in booked.resources} == {
        "09:30",
        "09:45",
    }
    after = catalog.availability(
        session, product_code="drive", date_from=change, date_to=change, now=now
    )
    assert next(s for s in after.slots if s.starts_at == start).remaining == 1


def test_busy_time_is_read_to_the_microsecond_and_lapsed_holds_are_told_apart(
    session: Session,
) -> None:
    """The busy query's instants (computed by PostgreSQL, parsed in bulk from SQLite's text)
    are the exact microseconds the rows hold."""
    world = make_world(session, cars=2)
    car, other = world.units["car"]
    pool = world.pools["car"].id
    day = date(2031, 6, 2)
    odd = at(day, 10) + timedelta(microseconds=1)
    late = at(day, 11, 29) + timedelta(seconds=59, microseconds=999_999)
    now = at(day, 7)
    session.add_all(
        [
            Allocation(
                engagement_kind="test",
                engagement_id=1,
                unit_id=car.id,
                pool_id=pool,
                starts_at=odd,
                ends_at=late,
                active=True,
            ),
            Allocation(  # a hold that lapsed a second ago: not busy, but reported
                engagement_kind="test",
                engagement_id=2,
                unit_id=other.id,
                pool_id=pool,
                starts_at=at(day, 12),
                ends_at=at(day, 13),
                active=True,
                expires_at=now - timedelta(seconds=1),
            ),
            Allocation(  # a hold still running: busy
                engagement_kind="test",
                engagement_id=3,
                unit_id=other.id,
                pool_id=pool,
                starts_at=at(day, 14),
                ends_at=at(day, 15),
                active=True,
                expires_at=now + timedelta(minutes=5),
            ),
            Block(
                site_id=world.site.id,
                unit_id=car.id,
                kind="maintenance",
                starts_at=at(day, 16, 15) + timedelta(microseconds=250_000),
                ends_at=at(day, 17),
            ),
            Block(  # the whole site closed: every unit busy
                site_id=world.site.id,
                unit_id=None,
                kind="closure",
                starts_at=at(day, 17, 30),
                ends_at=at(day, 18),
            ),
        ]
    )
    session.commit()
    clock = capacity.site_clock(session, world.site.id, world.site.time_zone)
    by_pool, lapsed = capacity.load_timelines(
        session, clock, [pool], (at(day, 8), at(day, 18)), now
    )
    busy = {u.unit_id: sorted(u.busy) for u in by_pool[pool]}
    closed = engine.span(at(day, 17, 30), at(day, 18))
    assert busy[car.id] == [
        engine.span(odd, late),
        engine.span(at(day, 16, 15) + timedelta(microseconds=250_000), at(day, 17)),
        closed,
    ]
    assert busy[other.id] == [engine.span(at(day, 14), at(day, 15)), closed]
    assert len(lapsed) == 1


def test_sqlite_instants_stored_in_another_form_are_read_one_by_one() -> None:
    """Rows written by other tools may drop the microseconds or carry an offset."""
    stored = "2031-06-02 10:00:00.000001,2031-06-02 11:00:00.000000"
    other = "2031-06-02 10:00:00,2031-06-02T11:00:00+00:00"
    expected = [
        engine.micros(datetime(2031, 6, 2, 10, tzinfo=UTC)) + 1,
        engine.micros(datetime(2031, 6, 2, 11, tzinfo=UTC)),
    ]
    assert parse_sqlite_instants(stored).tolist() == expected
    assert parse_sqlite_instants(other).tolist() == [expected[0] - 1, expected[1]]
    assert parse_sqlite_instants(None).tolist() == []


def test_busy_time_is_exact_to_the_microsecond_over_the_century(session: Session) -> None:
    """300 allocations of one unit at random microseconds from 2000 to 2099 are read back
    exactly (PostgreSQL computes them in floating point: the rounding must always land)."""
    world = make_world(session, cars=1)
    car, pool = world.units["car"][0], world.pools["car"].id
    rng = random.Random(7)
    century = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    span_us = engine.micros(century[1]) - engine.micros(century[0])
    edges = sorted(rng.sample(range(span_us), 600))
    instants = [century[0] + timedelta(microseconds=e) for e in edges]
    session.add_all(
        Allocation(
            engagement_kind="test",
            engagement_id=n,
            unit_id=car.id,
            pool_id=pool,
            starts_at=instants[2 * n],
            ends_at=instants[2 * n + 1],
            active=True,
        )
        for n in range(300)
    )
    session.commit()
    found = read_busy(session.connection(), world.site.id, [pool], century, century[0])
    starts, ends = found.units[car.id]
    assert sorted(zip(starts.tolist(), ends.tolist(), strict=True)) == [
        (engine.micros(instants[2 * n]), engine.micros(instants[2 * n + 1])) for n in range(300)
    ]
