"""The pure capacity engine: slot grids and working time across daylight-saving changes, blocks,
tick rounding, shared units, shortfall reasons and the least-used choice. No database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paddock.capacity import engine
from paddock.capacity.engine import Demand, UnitTimeline

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# 2031: clocks go forward on Sunday 9 March and back on Sunday 2 November (both zones).
SPRING_FORWARD = date(2031, 3, 9)
FALL_BACK = date(2031, 11, 2)
MONDAY = date(2031, 6, 2)
EVERY_DAY = {d: [(time(8), time(18))] for d in range(7)}
AROUND_THE_CLOCK = {d: [(time(0), time(0))] for d in range(7)}
HOUR = timedelta(hours=1)
MIN = timedelta(minutes=1)


def utc(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=UTC)


def local(day: date, hh: int, mm: int = 0, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=zone).astimezone(UTC)


def wall(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def demand(pool_id: int = 1, quantity: int = 1, offset: int = 0, minutes: int = 90) -> Demand:
    return Demand(
        pool_id=pool_id,
        pool_code=f"pool-{pool_id}",
        pool_name=f"Pool {pool_id}",
        quantity=quantity,
        offset=timedelta(minutes=offset),
        duration=timedelta(minutes=minutes),
    )


def unit(
    unit_id: int,
    working: list[tuple[datetime, datetime]],
    busy: list[tuple[datetime, datetime]] | None = None,
    usage: int = 0,
) -> UnitTimeline:
    spans = [engine.span(start, end) for start, end in busy or []]
    return UnitTimeline(unit_id, f"Unit {unit_id}", usage, list(working), spans)


def day_of(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [(start, end)]


# --- slot grid and working time across daylight-saving changes -------------------------------


@pytest.mark.parametrize("zone", [NEW_YORK, LOS_ANGELES], ids=["new-york", "los-angeles"])
@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK], ids=["spring", "fall"])
def test_slots_keep_local_wall_clock_times_across_a_dst_change(
    zone: ZoneInfo, change: date
) -> None:
    saturday, monday = change - timedelta(days=1), change + timedelta(days=1)
    starts = engine.slot_grid(
        saturday, monday, EVERY_DAY, zone, timedelta(minutes=30), timedelta(minutes=90)
    )
    # 08:00 to 16:30 every 30 minutes, every day, whatever the UTC offset of the day.
    expected = [f"{h:02d}:{m:02d}" for h in range(8, 17) for m in (0, 30)]
    for day in (saturday, change, monday):
        of_day = [s for s in starts if s.astimezone(zone).date() == day]
        assert [wall(s, zone) for s in of_day] == expected
    assert len(starts) == 3 * len(expected) == len(set(starts))
    # The offsets really changed: the same wall-clock time is an hour apart in UTC.
    before, after = local(saturday, 8, zone=zone), local(monday, 8, zone=zone)
    shift = (after - before) - timedelta(days=2)
    assert shift == (-HOUR if change == SPRING_FORWARD else HOUR)
    assert starts[0] == before


@pytest.mark.parametrize("zone", [NEW_YORK, LOS_ANGELES], ids=["new-york", "los-angeles"])
def test_a_23_hour_day_has_23_hourly_slots_and_no_2_am(zone: ZoneInfo) -> None:
    starts = engine.slot_grid(SPRING_FORWARD, SPRING_FORWARD, AROUND_THE_CLOCK, zone, HOUR, HOUR)
    hours = [wall(s, zone) for s in starts]
    assert len(starts) == 23 == len(set(starts))
    assert "02:00" not in hours
    assert hours[:3] == ["00:00", "01:00", "03:00"] and hours[-1] == "23:00"
    assert all(b - a == HOUR for a, b in zip(starts, starts[1:], strict=False))
    (opens, closes), *_ = engine.local_intervals(
        SPRING_FORWARD, SPRING_FORWARD, AROUND_THE_CLOCK, zone
    )
    assert closes - opens == timedelta(hours=23)


@pytest.mark.parametrize("zone", [NEW_YORK, LOS_ANGELES], ids=["new-york", "los-angeles"])
def test_a_25_hour_day_has_25_hourly_slots_with_1_am_twice(zone: ZoneInfo) -> None:
    starts = engine.slot_grid(FALL_BACK, FALL_BACK, AROUND_THE_CLOCK, zone, HOUR, HOUR)
    hours = [wall(s, zone) for s in starts]
    assert len(starts) == 25 == len(set(starts))
    assert hours[:4] == ["00:00", "01:00", "01:00", "02:00"]
    # The two 01:00 slots are different instants, an hour apart (daylight, then standard).
    first, second = starts[1], starts[2]
    assert second - first == HOUR
    assert first.astimezone(zone).utcoffset() != second.astimezone(zone).utcoffset()


def test_an_overnight_shift_across_spring_forward_is_seven_hours_long() -> None:
    # 22:00 Saturday to 06:00 Sunday local: one hour is skipped at 02:00.
    weekly = {5: [(time(22), time(6))]}
    (start, end), *_ = engine.local_intervals(
        SPRING_FORWARD - timedelta(days=1), SPRING_FORWARD, weekly, NEW_YORK
    )
    assert wall(start, NEW_YORK) == "22:00" and wall(end, NEW_YORK) == "06:00"
    assert end - start == timedelta(hours=7)


@pytest.mark.parametrize("change", [SPRING_FORWARD, FALL_BACK], ids=["spring", "fall"])
def test_shift_working_time_starts_at_local_time_on_change_days(change: date) -> None:
    shift = {d: [(time(9, 30), time(18))] for d in range(7)}
    intervals = engine.local_intervals(change, change + timedelta(days=1), shift, LOS_ANGELES)
    assert [wall(s, LOS_ANGELES) for s, _ in intervals] == ["09:30", "09:30"]
    assert all(e - s == timedelta(hours=8, minutes=30) for s, e in intervals)


def test_availability_on_a_dst_day_counts_every_working_unit() -> None:
    working = engine.local_intervals(SPRING_FORWARD, SPRING_FORWARD, EVERY_DAY, NEW_YORK)
    units = {1: [unit(1, working), unit(2, working)]}
    starts = engine.slot_grid(
        SPRING_FORWARD, SPRING_FORWARD, EVERY_DAY, NEW_YORK, timedelta(minutes=30), 90 * MIN
    )
    window = (working[0][0], working[-1][1])
    slots = engine.availability(starts, 90 * MIN, [demand()], units, window)
    assert len(slots) == 18
    assert {s.remaining for s in slots} == {2}


def test_working_time_never_extends_past_a_weekly_interval() -> None:
    # Two intervals on one day (lunch break); a 90-minute demand fits in neither gap.
    weekly = {0: [(time(8), time(12)), (time(13), time(18))]}
    working = engine.local_intervals(MONDAY, MONDAY, weekly, NEW_YORK)
    assert len(working) == 2
    units = {1: [unit(1, working)]}
    starts = [local(MONDAY, 11), local(MONDAY, 10, 30), local(MONDAY, 13)]
    window = (local(MONDAY, 0), local(MONDAY, 23))
    remaining = [
        s.remaining for s in engine.availability(starts, 90 * MIN, [demand()], units, window)
    ]
    assert remaining == [0, 1, 1]


def test_touching_intervals_merge_so_long_demands_fit() -> None:
    a, b, c = utc(MONDAY, 0), utc(MONDAY, 12), utc(MONDAY, 23)
    assert engine.merge([(b, c), (a, b)]) == [(a, c)]
    assert engine.merge([(a, b), (b + MIN, c)]) == [(a, b), (b + MIN, c)]


# --- blocks ---------------------------------------------------------------------------------


def test_a_block_takes_a_unit_out_for_its_time_only() -> None:
    open_, close = local(MONDAY, 8), local(MONDAY, 18)
    block = (local(MONDAY, 10), local(MONDAY, 12))
    units = {1: [unit(1, day_of(open_, close), [block]), unit(2, day_of(open_, close))]}
    starts = [local(MONDAY, h, m) for h, m in ((8, 0), (8, 30), (9, 0), (11, 30), (12, 0))]
    slots = engine.availability(starts, 90 * MIN, [demand()], units, (open_, close))
    assert [s.remaining for s in slots] == [2, 2, 1, 1, 2]  # 08:30 ends as it starts


def test_a_fully_blocked_pool_is_short_with_the_reason() -> None:
    open_, close = local(MONDAY, 8), local(MONDAY, 18)
    units = {1: [unit(1, day_of(open_, close), [(open_, close)])]}
    (slot,) = engine.availability([local(MONDAY, 10)], 90 * MIN, [demand()], units, (open_, close))
    assert slot.remaining == 0
    assert slot.shortfall is not None
    assert (slot.shortfall.pool_code, slot.shortfall.free, slot.shortfall.missing) == (
        "pool-1",
        0,
        1,
    )


# --- tick rounding --------------------------------------------------------------------------


def test_busy_time_rounds_outwards_to_whole_ticks() -> None:
    open_, close = local(MONDAY, 8), local(MONDAY, 18)
    # Busy 10:02-10:03 is exactly free from 10:03, but the 5-minute tick it touches is busy.
    busy = (local(MONDAY, 10, 2), local(MONDAY, 10, 3))
    timeline = unit(1, day_of(open_, close), [busy])
    start = local(MONDAY, 10, 3)
    assert engine.is_free(timeline, (start, start + 30 * MIN))
    slots = engine.availability(
        [start, local(MONDAY, 10, 5), local(MONDAY, 9, 30)],
        30 * MIN,
        [demand(minutes=30)],
        {1: [timeline]},
        (open_, close),
    )
    assert [s.remaining for s in slots] == [0, 1, 1]


def test_working_time_rounds_inwards_to_whole_ticks() -> None:
    # Works 08:02 to 17:58: the ticks 08:00 and 17:55 are only partly worked, so not usable.
    timeline = unit(1, day_of(local(MONDAY, 8, 2), local(MONDAY, 17, 58)))
    window = (local(MONDAY, 7), local(MONDAY, 19))
    starts = [local(MONDAY, 8, 2), local(MONDAY, 8, 5), local(MONDAY, 17, 26)]
    assert engine.is_free(timeline, (starts[2], starts[2] + 30 * MIN))  # exactly: it fits
    slots = engine.availability(starts, 30 * MIN, [demand(minutes=30)], {1: [timeline]}, window)
    assert [s.remaining for s in slots] == [0, 1, 0]


minutes = st.integers(min_value=0, max_value=600)


@settings(max_examples=200, deadline=None)
@given(
    busy=st.lists(st.tuples(minutes, st.integers(1, 120)), max_size=6),
    working=st.tuples(minutes, st.integers(30, 600)),
    start=minutes,
    length=st.integers(1, 180),
)
def test_rounding_is_only_ever_more_careful(
    busy: list[tuple[int, int]], working: tuple[int, int], start: int, length: int
) -> None:
    """If the tick arithmetic says a unit is free, it really is free (never the reverse)."""
    origin = local(MONDAY, 6)
    timeline = unit(
        1,
        [(origin + working[0] * MIN, origin + (working[0] + working[1]) * MIN)],
        [(origin + b * MIN, origin + (b + n) * MIN) for b, n in busy],
    )
    begin = origin + start * MIN
    (slot,) = engine.availability(
        [begin],
        length * MIN,
        [demand(minutes=length)],
        {1: [timeline]},
        (origin, origin + 14 * HOUR),
    )
    if slot.remaining:
        assert engine.is_free(timeline, (begin, begin + length * MIN))


# --- shared units ---------------------------------------------------------------------------


def shared_world(coaches_in_both: int, driving_only: int = 0) -> dict[int, list[UnitTimeline]]:
    working = day_of(local(MONDAY, 8), local(MONDAY, 18))
    both = [unit(i, working) for i in range(1, coaches_in_both + 1)]
    extra = [unit(100 + i, working) for i in range(driving_only)]
    return {1: both + extra, 2: list(both)}  # pool 1 driving coaches, pool 2 GT coaches


WINDOW = (local(MONDAY, 8), local(MONDAY, 18))


def test_a_coach_in_two_pools_cannot_serve_two_overlapping_demands() -> None:
    demands = [demand(1), demand(2)]
    (slot,) = engine.availability([local(MONDAY, 10)], 90 * MIN, demands, shared_world(1), WINDOW)
    assert slot.remaining == 0
    # The reason names a pool that is really short: one was left with no coach at all.
    assert slot.shortfall is not None
    assert slot.shortfall.free == 0 and slot.shortfall.missing == 1
    picks, shortfalls = engine.choose_units(local(MONDAY, 10), demands, shared_world(1))
    assert picks == [] and shortfalls[0].missing == 1


def test_shared_coaches_are_counted_once_per_engagement() -> None:
    demands = [demand(1), demand(2)]
    starts = [local(MONDAY, 10)]
    assert engine.availability(starts, 90 * MIN, demands, shared_world(2), WINDOW)[0].remaining == 1
    # A GT coach goes to the GT demand, the driving-only coach to the other.
    world = shared_world(1, driving_only=1)
    assert engine.availability(starts, 90 * MIN, demands, world, WINDOW)[0].remaining == 1
    picks, _ = engine.choose_units(local(MONDAY, 10), demands, world)
    chosen = {p.demand.pool_id: p.unit_id for p in picks}
    assert chosen == {2: 1, 1: 100}


def test_one_unit_serves_two_demands_that_do_not_overlap() -> None:
    # A two-part session: the same car first for 45 minutes, then again after a 15-minute brief.
    demands = [demand(1, offset=0, minutes=45), demand(1, offset=60, minutes=30)]
    world = {1: [unit(1, day_of(*WINDOW))]}
    (slot,) = engine.availability([local(MONDAY, 10)], 90 * MIN, demands, world, WINDOW)
    assert slot.remaining == 1
    picks, shortfalls = engine.choose_units(local(MONDAY, 10), demands, world)
    assert not shortfalls and [p.unit_id for p in picks] == [1, 1]
    assert [(p.starts_at, p.ends_at) for p in picks] == [
        (local(MONDAY, 10), local(MONDAY, 10, 45)),
        (local(MONDAY, 11), local(MONDAY, 11, 30)),
    ]
    overlapping = [demand(1, offset=0, minutes=45), demand(1, offset=30, minutes=30)]
    assert engine.choose_units(local(MONDAY, 10), overlapping, world)[1][0].missing == 1


# --- shortfall reasons ----------------------------------------------------------------------


def test_shortfall_names_the_pool_the_time_and_the_amount() -> None:
    working = day_of(*WINDOW)
    world = {
        1: [unit(i, working) for i in range(1, 4)],  # plenty of cars
        2: [unit(10, working)],  # one coach, busy at 10:00
    }
    world[2][0].busy.append(engine.span(local(MONDAY, 10), local(MONDAY, 11)))
    demands = [demand(1, quantity=2, minutes=90), demand(2, quantity=2, offset=30, minutes=60)]
    (slot,) = engine.availability([local(MONDAY, 10)], 90 * MIN, demands, world, WINDOW)
    assert slot.remaining == 0
    short = slot.shortfall
    assert short is not None
    assert short.pool_code == "pool-2"
    assert (short.starts_at, short.ends_at) == (local(MONDAY, 10, 30), local(MONDAY, 11, 30))
    assert (short.needed, short.free, short.missing) == (2, 0, 2)
    assert "Pool 2: 2 needed" in short.describe() and "short by 2" in short.describe()
    _, shortfalls = engine.choose_units(local(MONDAY, 10), demands, world)
    assert [(s.pool_code, s.needed, s.free) for s in shortfalls] == [("pool-2", 2, 0)]


def test_the_binding_shortfall_is_the_worst_pool() -> None:
    working = day_of(*WINDOW)
    world = {1: [unit(1, working)], 2: []}
    demands = [demand(1, quantity=2), demand(2, quantity=3)]
    (slot,) = engine.availability([local(MONDAY, 10)], 90 * MIN, demands, world, WINDOW)
    assert slot.shortfall is not None and slot.shortfall.pool_code == "pool-2"
    assert slot.shortfall.missing == 3
    _, shortfalls = engine.choose_units(local(MONDAY, 10), demands, world)
    assert {s.pool_code: s.missing for s in shortfalls} == {"pool-1": 1, "pool-2": 3}


def test_remaining_is_whole_engagements() -> None:
    working = day_of(*WINDOW)
    world = {1: [unit(i, working) for i in range(5)]}
    (slot,) = engine.availability(
        [local(MONDAY, 10)], 90 * MIN, [demand(quantity=2)], world, WINDOW
    )
    assert slot.remaining == 2 and slot.shortfall is None


# --- which unit ---------------------------------------------------------------------------


def test_least_used_units_are_chosen_first() -> None:
    working = day_of(*WINDOW)
    world = {
        1: [unit(1, working, usage=900), unit(2, working, usage=30), unit(3, working, usage=400)]
    }
    picks, _ = engine.choose_units(local(MONDAY, 10), [demand(quantity=2)], world)
    assert sorted(p.unit_id for p in picks) == [2, 3]
    # The least used but busy unit is passed over.
    world[1][1].busy.append(engine.span(local(MONDAY, 9), local(MONDAY, 12)))
    picks, _ = engine.choose_units(local(MONDAY, 10), [demand()], world)
    assert [p.unit_id for p in picks] == [3]


def test_ties_are_broken_at_random_so_writers_spread_out() -> None:
    working = day_of(*WINDOW)
    world = {1: [unit(i, working, usage=100) for i in range(1, 7)]}
    chosen = {
        engine.choose_units(local(MONDAY, 10), [demand()], world, rng=random.Random(seed))[0][
            0
        ].unit_id
        for seed in range(40)
    }
    assert len(chosen) > 3
    again = [
        engine.choose_units(local(MONDAY, 10), [demand()], world, rng=random.Random(7))[0][0]
        for _ in range(3)
    ]
    assert len({p.unit_id for p in again}) == 1  # seeded: reproducible


def test_excluded_units_are_not_chosen() -> None:
    working = day_of(*WINDOW)
    world = {1: [unit(1, working), unit(2, working, usage=50)]}
    picks, _ = engine.choose_units(local(MONDAY, 10), [demand()], world, exclude=frozenset({1}))
    assert [p.unit_id for p in picks] == [2]


def test_negative_offsets_reach_before_the_start() -> None:
    # A monthly place (dealer allotment) held from before the drive starts.
    working = day_of(local(MONDAY, 0), local(MONDAY + timedelta(days=30), 0))
    world = {1: [unit(1, working)]}
    place = demand(1, offset=-60, minutes=180)
    window = (local(MONDAY, 0), local(MONDAY, 23))
    (slot,) = engine.availability([local(MONDAY, 10)], 90 * MIN, [place], world, window)
    assert slot.remaining == 1
    picks, _ = engine.choose_units(local(MONDAY, 10), [place], world)
    assert picks[0].starts_at == local(MONDAY, 9)
