"""Blocking a unit and moving what it holds: a car with a fault is taken out over a period, and
every engagement booked on it then (a guest's drive, a dealer's event) is given a free unit of
the same pool (the same model, the same qualification) instead, in the one transaction that
writes the block. What cannot be moved stays where it is and is reported, so that operations
call those guests; the blocked time around it is guarded as any block.

Race-safe as any write of units: the block's guard rows and the moved allocations go through
the database's overlap rule (the exclusion constraint on PostgreSQL, the write lock on SQLite).
A booking written concurrently on the unit makes the guard rows conflict, and the unit of work
runs the whole move again, which then moves that booking too; a unit chosen as a new home that
a concurrent writer took is skipped for the next candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from paddock.capacity import engine, service
from paddock.capacity.blocks import (
    _audit,
    _block_data,
    _check_kind,
    _check_reason,
    _check_window,
)
from paddock.capacity.fleet import GUARD_KIND, UNIT_BLOCK_KINDS, get_unit
from paddock.capacity.guards import kept_engagements, write_guards
from paddock.capacity.models import Allocation, Block, Site
from paddock.db import utcnow
from paddock.unit_of_work import run_write


@dataclass(frozen=True)
class Held:
    """One allocation of the blocked unit in the blocked time: who holds it and when."""

    kind: str  # the engagement's kind: booking, dealer place, race entry...
    id: int
    unit_label: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Moved:
    held: Held
    to_unit_id: int
    to_unit: str


@dataclass
class BlockOutcome:
    """The block, what was moved to another unit and what stayed on the blocked unit."""

    block: Block
    moved: list[Moved] = field(default_factory=list)
    stranded: list[Held] = field(default_factory=list)


def block_and_move(
    session: Session,
    *,
    unit_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    kind: str = "maintenance",
    actor: str = "operations",
    now: datetime | None = None,
) -> BlockOutcome:
    """Block a unit for a time and move the engagements it holds then to free units of the
    same pool, least used first; those that fit nowhere stay and are reported."""
    now = now or utcnow()
    _check_window(starts_at, ends_at, now)
    _check_kind(kind, UNIT_BLOCK_KINDS)
    reason = _check_reason(reason)

    def write() -> BlockOutcome:
        unit = get_unit(session, unit_id=unit_id)
        site = session.get_one(Site, unit.site_id)
        # Bookings other blocks of the unit left on it keep their time (read before the
        # block is added, as blocks.py does).
        kept = kept_engagements(session, [unit.id], now)
        block = Block(
            site_id=unit.site_id,
            unit_id=unit.id,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_at=now,
        )
        session.add(block)
        session.flush()  # the timelines read below see the unit blocked
        outcome = BlockOutcome(block)
        clock = service.site_clock(session, site.id, site.time_zone)
        for row in _held(session, unit.id, (max(starts_at, now), ends_at), now):
            held = Held(
                row.engagement_kind, row.engagement_id, unit.label, row.starts_at, row.ends_at
            )
            target = _move(session, clock, row, unit.id, now)
            if target is None:
                outcome.stranded.append(held)
                kept.setdefault(unit.id, []).append((row.starts_at, row.ends_at))
                continue
            outcome.moved.append(Moved(held, target[0], target[1]))
            _audit(
                session,
                actor,
                row.engagement_kind,
                row.engagement_id,
                "unit_swapped",
                now,
                from_unit=unit.label,
                to_unit=target[1],
                because=f"{unit.label} blocked: {reason}",
            )
        write_guards(session, [unit.id], now, kept)
        _audit(
            session,
            actor,
            "unit",
            unit.id,
            "blocked",
            now,
            block=_block_data(block),
            moved=len(outcome.moved),
            stranded=[f"{h.kind} #{h.id}" for h in outcome.stranded],
        )
        return outcome

    return run_write(session, write)


def _held(
    session: Session, unit_id: int, window: tuple[datetime, datetime], now: datetime
) -> list[Allocation]:
    """The unit's live allocations in the window, in start order; lapsed holds let go."""
    if window[0] >= window[1]:
        return []
    rows = session.scalars(
        select(Allocation)
        .where(
            Allocation.unit_id == unit_id,
            Allocation.active.is_(True),
            Allocation.engagement_kind != GUARD_KIND,
            Allocation.starts_at < window[1],
            Allocation.ends_at > window[0],
        )
        .order_by(Allocation.starts_at, Allocation.id)
    ).all()
    lapsed = [r.id for r in rows if r.expires_at is not None and r.expires_at <= now]
    if lapsed:
        session.execute(update(Allocation).where(Allocation.id.in_(lapsed)).values(active=False))
    return [r for r in rows if r.id not in lapsed]


def _move(
    session: Session,
    clock: service.SiteClock,
    held: Allocation,
    blocked_unit: int,
    now: datetime,
) -> tuple[int, str] | None:
    """Give the rest of this allocation to a free unit of its pool; None if none is free.
    What already happened on the blocked unit stays there as history."""
    interval = (max(held.starts_at, now), held.ends_at)
    by_pool, lapsed = service.load_timelines(session, clock, [held.pool_id], interval, now)
    if lapsed:
        session.execute(update(Allocation).where(Allocation.id.in_(lapsed)).values(active=False))
    free = sorted(
        (
            u
            for u in by_pool.get(held.pool_id, [])
            if u.unit_id != blocked_unit and engine.is_free(u, interval)
        ),
        key=lambda u: (u.usage_minutes, u.label),
    )
    if not free:
        return None
    if held.starts_at < now:
        held.ends_at = now
    else:
        held.active = False
    session.flush()
    for candidate in free:
        row = {
            "engagement_kind": held.engagement_kind,
            "engagement_id": held.engagement_id,
            "unit_id": candidate.unit_id,
            "pool_id": held.pool_id,
            "starts_at": interval[0],
            "ends_at": interval[1],
            "active": True,
            "expires_at": held.expires_at,
        }
        if service.insert_unless_taken(session, row):
            return candidate.unit_id, candidate.label
    # Every free unit was taken meanwhile: the allocation stays on the blocked unit.
    if held.starts_at < now:
        held.ends_at = interval[1]
    else:
        held.active = True
    session.flush()
    return None
