"""Property tests (hypothesis) on a real, migrated SQLite database: whatever sequence of
bookings, holds, confirmations, cancellations, moves, check-ins, expiries and passing time,

- no unit is ever held twice for overlapping time, and no pool gives more than it has;
- every live booking holds one unit per demand, and nothing else holds any;
- availability is exactly capacity minus live allocations, counted independently from the
  allocation table;
- a booking is admitted exactly when that count says there is room, and each transition
  succeeds or fails exactly as the lifecycle says.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.bookings import service
from paddock.bookings.models import Booking
from paddock.capacity.models import Allocation, Unit, pool_membership
from paddock.catalog import service as catalog
from paddock.db import make_engine, make_session_factory
from paddock.errors import HoldExpired, InvalidTransition, SoldOut
from tests.factories import MONDAY, at, make_world

GUEST = service.Guest("Ann Lee", "ann@example.com")
START = at(MONDAY, 6)
LAST_MOMENT = at(MONDAY, 7, 55)  # the clock stops before the first slot starts
HOLD_MINUTES = 10
DRIVE_STARTS = [at(MONDAY, 8) + timedelta(minutes=30 * i) for i in range(5)]  # 08:00-10:00
SIM_STARTS = [at(MONDAY, 8) + timedelta(minutes=30 * i) for i in range(3)]
LIVE = {"held", "confirmed", "checked_in"}

index = st.integers(min_value=0, max_value=11)
booking = st.tuples(st.just("book"), st.sampled_from(["drive", "sim"]), index, st.booleans())
operations = st.lists(
    st.one_of(
        booking,
        booking,  # three times as likely: later steps need bookings to act on
        booking,
        st.tuples(st.just("confirm"), index),
        st.tuples(st.just("cancel"), index),
        st.tuples(st.just("move"), index, index),
        st.tuples(st.just("check_in"), index),
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=25)),
        st.tuples(st.just("sweep")),
    ),
    min_size=6,
    max_size=24,
)


@dataclass
class Expected:
    """What the lifecycle says a booking is: the model the database is checked against."""

    product: str
    status: str
    starts_at: datetime
    hold_expires_at: datetime | None = None

    def effective(self, now: datetime) -> str:
        if self.status == "held" and self.hold_expires_at and self.hold_expires_at <= now:
            return "expired"
        return self.status


@dataclass
class Run:
    session: Session
    now: datetime = START
    refs: list[str] = field(default_factory=list)
    model: dict[str, Expected] = field(default_factory=dict)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_any_sequence_keeps_capacity_and_availability_exact(
    steps: list[tuple[Any, ...]], sqlite_template: Path, scratch: Path
) -> None:
    path = scratch / f"{uuid.uuid4().hex}.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}", pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            catalog.invalidate_cache()
            make_world(session, cars=2, coaches=2, positions=1)
            run = Run(session)
            for step in steps:
                apply(run, step)
                check_invariants(run)
    finally:
        engine.dispose()
        path.unlink(missing_ok=True)


def apply(run: Run, step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "book":
        _, product, slot, hold = step
        starts = DRIVE_STARTS if product == "drive" else SIM_STARTS
        book(run, str(product), starts[int(slot) % len(starts)], bool(hold))
    elif kind == "wait":
        run.now = min(run.now + timedelta(minutes=int(step[1])), LAST_MOMENT)
    elif kind == "sweep":
        expired = service.expire_holds(run.session, now=run.now)
        lapsed = [
            r
            for r, e in run.model.items()
            if e.effective(run.now) == "expired" and e.status == "held"
        ]
        assert expired == len(lapsed)
        event("holds swept" if expired else "nothing to sweep")
        for ref in lapsed:
            run.model[ref].status = "expired"
    elif run.refs:
        ref = run.refs[int(step[1]) % len(run.refs)]
        if kind == "move":
            move(run, ref, int(step[2]))
        else:
            transition(run, str(kind), ref)


def book(run: Run, product: str, start: datetime, hold: bool) -> None:
    room = independent_remaining(run, product, start)
    try:
        result = service.create_booking(
            run.session,
            product_code=product,
            starts_at=start,
            guest=GUEST,
            hold=hold,
            hold_minutes=HOLD_MINUTES,
            now=run.now,
        )
    except SoldOut:
        assert room == 0, f"refused {product} at {start:%H:%M} with {room} free"
        event("sold out")
        return
    assert room > 0, f"admitted {product} at {start:%H:%M} with no room"
    run.refs.append(result.booking.ref)
    run.model[result.booking.ref] = Expected(
        product,
        "held" if hold else "confirmed",
        start,
        run.now + timedelta(minutes=HOLD_MINUTES) if hold else None,
    )


def move(run: Run, ref: str, slot: int) -> None:
    expected = run.model[ref]
    starts = DRIVE_STARTS if expected.product == "drive" else SIM_STARTS
    target = starts[slot % len(starts)]
    room = independent_remaining(run, expected.product, target, ignoring=ref)
    try:
        service.reschedule(run.session, ref=ref, starts_at=target, now=run.now)
    except InvalidTransition:
        assert expected.effective(run.now) not in {"held", "confirmed"}
        return
    except SoldOut:
        assert expected.effective(run.now) in {"held", "confirmed"} and room == 0
        event("move sold out")
        return
    assert expected.effective(run.now) in {"held", "confirmed"} and room > 0
    expected.starts_at = target
    event("moved")


def transition(run: Run, kind: str, ref: str) -> None:
    expected = run.model[ref]
    status = expected.effective(run.now)
    allowed = {
        "confirm": {"held", "confirmed"},
        "cancel": {"held", "confirmed", "cancelled"},
        # Check-in opens three hours before the start.
        "check_in": {"checked_in"}
        | ({"confirmed"} if run.now >= expected.starts_at - timedelta(hours=3) else set()),
    }[kind]
    call = {
        "confirm": service.confirm_booking,
        "cancel": service.cancel_booking,
        "check_in": service.check_in,
    }[kind]
    try:
        call(run.session, ref=ref, now=run.now)
    except HoldExpired:
        event("hold expired")
        assert kind == "confirm" and status == "expired"
        expected.status = "expired"
        return
    except InvalidTransition:
        assert status not in allowed, f"{kind} refused for a {status} booking"
        event(f"{kind} refused")
        return
    assert status in allowed, f"{kind} allowed for a {status} booking"
    event(f"{kind} done")
    expected.status = {"confirm": "confirmed", "cancel": "cancelled", "check_in": "checked_in"}[
        kind
    ]
    expected.hold_expires_at = None if kind == "confirm" else expected.hold_expires_at


# --- the independent count --------------------------------------------------------------------


def live_allocations(
    session: Session, now: datetime
) -> list[tuple[int, int, int, datetime, datetime]]:
    """(engagement, unit, pool, start, end) of every allocation that holds its unit now."""
    rows = session.execute(
        select(
            Allocation.engagement_id,
            Allocation.unit_id,
            Allocation.pool_id,
            Allocation.starts_at,
            Allocation.ends_at,
            Allocation.expires_at,
        ).where(Allocation.active.is_(True))
    ).all()
    return [(e, u, p, s, end) for e, u, p, s, end, x in rows if x is None or x > now]


def pool_units(session: Session) -> dict[int, set[int]]:
    members: dict[int, set[int]] = {}
    rows = session.execute(
        select(pool_membership.c.pool_id, pool_membership.c.unit_id)
        .join(Unit, Unit.id == pool_membership.c.unit_id)
        .where(Unit.active.is_(True))
    )
    for pool_id, unit_id in rows:
        members.setdefault(pool_id, set()).add(unit_id)
    return members


@dataclass
class Snapshot:
    """The allocation table as it stands, read once, to count from without the engine."""

    live: list[tuple[int, int, int, datetime, datetime]]
    members: dict[int, set[int]]

    @classmethod
    def read(cls, session: Session, now: datetime) -> Snapshot:
        snapshot = cls(live_allocations(session, now), pool_units(session))
        session.rollback()
        return snapshot

    def remaining(
        self, session: Session, product: str, start: datetime, ignored: int | None = None
    ) -> int:
        """How many more engagements fit at this start: per demand, the pool's units minus
        those a live allocation holds over the demand's interval (pools are disjoint here)."""
        counts = []
        for demand in catalog.product_plan(session, code=product).demands:
            begin, end = start + demand.offset, start + demand.offset + demand.duration
            busy = {u for b, u, _, s, e in self.live if b != ignored and s < end and begin < e}
            free = len(self.members.get(demand.pool_id, set()) - busy)
            counts.append(free // demand.quantity)
        return min(counts)


def independent_remaining(
    run: Run, product: str, start: datetime, ignoring: str | None = None
) -> int:
    ignored = None
    if ignoring is not None:
        ignored = run.session.scalar(select(Booking.id).where(Booking.ref == ignoring))
    return Snapshot.read(run.session, run.now).remaining(run.session, product, start, ignored)


def check_invariants(run: Run) -> None:
    session = run.session
    rows = session.execute(
        select(
            Allocation.engagement_id,
            Allocation.unit_id,
            Allocation.pool_id,
            Allocation.starts_at,
            Allocation.ends_at,
        ).where(Allocation.active.is_(True))
    ).all()
    # No unit twice at once (every active row, lapsed holds included: the database invariant).
    by_unit: dict[int, list[tuple[datetime, datetime]]] = {}
    for _, unit, _, s, e in rows:
        by_unit.setdefault(unit, []).append((s, e))
    for unit, spans in by_unit.items():
        spans.sort()
        for (_, end), (begin, _) in zip(spans, spans[1:], strict=False):
            assert end <= begin, f"unit {unit} double-allocated"
    members = pool_units(session)
    for _, unit, pool, _, _ in rows:
        assert unit in members[pool], "a unit given for a pool it is not in"
    # Each live booking holds one unit per demand; every other booking holds none.
    live = live_allocations(session, run.now)
    held: dict[int, int] = {}
    for engagement, *_ in live:
        held[engagement] = held.get(engagement, 0) + 1
    for booking in session.scalars(select(Booking)):
        expected = run.model[booking.ref]
        status = service.effective_status(booking, run.now)
        assert status == expected.effective(run.now), (booking.ref, status, expected)
        demands = len(catalog.product_plan(session, code=expected.product).demands)
        assert held.get(booking.id, 0) == (demands if status in LIVE else 0), booking.ref
    session.rollback()
    # Availability is capacity minus live allocations, slot by slot.
    snapshot = Snapshot.read(session, run.now)
    for product in ("drive", "sim"):
        result = catalog.availability(
            session, product_code=product, date_from=MONDAY, date_to=MONDAY, now=run.now
        )
        assert len(result.slots) == {"drive": 18, "sim": 20}[product]
        for slot in result.slots:
            expected_room = snapshot.remaining(session, product, slot.starts_at)
            assert slot.remaining == expected_room, (product, slot.starts_at, slot.remaining)
            assert (slot.shortfall is not None) == (expected_room == 0)
