"""The guard rows of blocked time: each unit's blocks (its own and its site's closures) from
now on are mirrored as allocation rows of kind `blocked`, so that the overlap rule of the
database (the exclusion constraint on PostgreSQL, the write lock on SQLite) that keeps two
bookings off one unit also keeps bookings out of blocked time. Engagements a block could not
move (relocation.py) keep their time out of the guard rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from paddock.capacity import engine
from paddock.capacity.fleet import GUARD_HORIZON, GUARD_KIND, RETIRED_KIND
from paddock.capacity.models import Allocation, Block, Pool, Unit, pool_membership
from paddock.capacity.units import NOT_RESOURCES


def guard_again(session: Session, unit_ids: Sequence[int], now: datetime) -> None:
    """Inside a write that gave these units' time back (a cancellation): where a block had left
    that time to the engagement (it could not be moved), block it again in the same
    transaction, so that no booking can take it in between."""
    ids = sorted(set(unit_ids))
    if not ids:
        return
    sites = select(Unit.site_id).where(Unit.id.in_(ids))
    blocked = session.scalar(
        select(Block.id)
        .where(
            Block.site_id.in_(sites),
            or_(Block.unit_id.in_(ids), Block.unit_id.is_(None)),
            Block.ends_at > now,
        )
        .limit(1)
    )
    if blocked is not None:
        write_guards(session, ids, now, kept_engagements(session, ids, now))


Kept = dict[int, list[tuple[datetime, datetime]]]


def write_guards(session: Session, unit_ids: Sequence[int], now: datetime, kept: Kept) -> None:
    """Rewrite the guard rows of these units as the union of their blocks from now on, but
    the time of `kept` engagements (left on a blocked unit, read at the start of the write).
    Inside the transaction the old rows are replaced atomically: a concurrent booking either
    sees the new rows or conflicts with them."""
    if not unit_ids:
        return
    ids = list(unit_ids)
    site_ids = set(session.scalars(select(Unit.site_id).where(Unit.id.in_(ids))))
    blocks = session.execute(
        select(Block.site_id, Block.unit_id, Block.starts_at, Block.ends_at, Block.kind).where(
            Block.site_id.in_(site_ids),
            or_(Block.unit_id.in_(ids), Block.unit_id.is_(None)),
            Block.ends_at > now,
        )
    ).all()
    home_pool: dict[int, int] = {}
    quota: set[int] = set()  # dealers' places and guests' cars: closures leave them alone
    for unit_id, pool_id, pool_kind in session.execute(
        select(pool_membership.c.unit_id, pool_membership.c.pool_id, Pool.kind)
        .join(Pool, Pool.id == pool_membership.c.pool_id)
        .where(pool_membership.c.unit_id.in_(ids))
    ):
        home_pool[unit_id] = min(pool_id, home_pool.get(unit_id, pool_id))
        if pool_kind in NOT_RESOURCES:
            quota.add(unit_id)
    sites = session.execute(select(Unit.id, Unit.site_id).where(Unit.id.in_(ids)))
    unit_site = {row[0]: row[1] for row in sites if row[0] not in quota}
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for site_id, unit_id, starts, ends, kind in blocks:
        if kind == RETIRED_KIND:
            ends = min(ends, now + GUARD_HORIZON)
        targets = (
            [unit_id] if unit_id is not None else [u for u in ids if unit_site.get(u) == site_id]
        )
        for target in targets:
            spans[target].append((max(starts, now), ends))
    session.execute(
        delete(Allocation).where(
            Allocation.engagement_kind == GUARD_KIND, Allocation.unit_id.in_(ids)
        )
    )
    rows = [
        {
            "engagement_kind": GUARD_KIND,
            "engagement_id": unit_id,
            "unit_id": unit_id,
            "pool_id": home_pool[unit_id],
            "starts_at": starts,
            "ends_at": ends,
            "active": True,
            "expires_at": None,
        }
        for unit_id, intervals in spans.items()
        if unit_id in home_pool  # a unit in no pool cannot be booked: nothing to guard
        for starts, ends in _without(engine.merge(intervals), kept.get(unit_id, []))
    ]
    if rows:
        session.execute(insert(Allocation), rows)


def kept_engagements(session: Session, unit_ids: Sequence[int], now: datetime) -> Kept:
    """Live engagements inside the units' blocked time: bookings a block could not move
    (relocation.py), which keep their time out of the guard rows. Read at the start of a
    write, before its checks: an engagement written concurrently after this read is not kept,
    so its allocation collides with the guard rows and the write runs again."""
    if not unit_ids:
        return {}
    blocked = (
        select(Block.id)
        .where(
            Block.site_id == Unit.site_id,
            or_(Block.unit_id == Allocation.unit_id, Block.unit_id.is_(None)),
            Block.starts_at < Allocation.ends_at,
            Block.ends_at > Allocation.starts_at,
            Block.ends_at > now,
        )
        .exists()
    )
    kept: Kept = defaultdict(list)
    lapsed = []
    for ident, unit_id, starts, ends, expires in session.execute(
        select(
            Allocation.id,
            Allocation.unit_id,
            Allocation.starts_at,
            Allocation.ends_at,
            Allocation.expires_at,
        )
        .join(Unit, Unit.id == Allocation.unit_id)
        .where(
            Allocation.unit_id.in_(list(unit_ids)),
            Allocation.active.is_(True),
            Allocation.engagement_kind != GUARD_KIND,
            Allocation.ends_at > now,
            blocked,
        )
    ):
        if expires is not None and expires <= now:
            lapsed.append(ident)  # a hold that ran out: it gives its time back
        else:
            kept[unit_id].append((starts, ends))
    if lapsed:
        session.execute(update(Allocation).where(Allocation.id.in_(lapsed)).values(active=False))
    return kept


def _without(
    spans: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The spans with the holes cut out."""
    out = []
    for start, end in spans:
        for hole_start, hole_end in sorted(holes):
            if hole_end <= start or hole_start >= end:
                continue
            if hole_start > start:
                out.append((start, hole_start))
            start = max(start, hole_end)
            if start >= end:
                break
        if start < end:
            out.append((start, end))
    return out
