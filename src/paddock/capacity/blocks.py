"""Changing the capacity itself: maintenance blocks, site closures, retiring and reactivating
units.

A block is refused while live engagements hold the unit in that time: operations move or
cancel them first, so nobody is silently left without a car or a coach. The database keeps it
so under concurrent writers too: each unit's blocked time is mirrored as allocation rows of
kind `blocked`, so the exclusion constraint (PostgreSQL) or the write lock (SQLite) that keeps
two bookings off one unit also keeps bookings out of blocked time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.capacity import engine, service
from paddock.capacity.fleet import (
    GUARD_HORIZON,
    GUARD_KIND,
    MAX_BLOCK,
    RETIRED_KIND,
    RETIRED_UNTIL,
    SITE_BLOCK_KINDS,
    UNIT_BLOCK_KINDS,
    Engagement,
    _engagements,
    get_site,
    get_unit,
)
from paddock.capacity.models import Allocation, Block, Pool, Site, Unit, pool_membership
from paddock.capacity.units import NOT_RESOURCES
from paddock.db import utcnow
from paddock.errors import Conflict, Invalid, NotFound
from paddock.unit_of_work import run_write


def list_blocks(
    session: Session,
    *,
    site_code: str | None = None,
    unit_id: int | None = None,
    include_past: bool = False,
    now: datetime | None = None,
) -> Sequence[Block]:
    now = now or utcnow()
    query = select(Block)
    if site_code:
        query = query.where(Block.site_id == get_site(session, code=site_code).id)
    if unit_id is not None:
        unit = get_unit(session, unit_id=unit_id)
        query = query.where(
            Block.site_id == unit.site_id, or_(Block.unit_id == unit_id, Block.unit_id.is_(None))
        )
    if not include_past:
        query = query.where(Block.ends_at > now)
    return session.scalars(query.order_by(Block.starts_at, Block.id)).all()


def get_block(session: Session, *, block_id: int) -> Block:
    block = session.get(Block, block_id)
    if block is None:
        raise NotFound(f"No block with id {block_id}.")
    return block


# --- changing --------------------------------------------------------------------------------


def block_unit(
    session: Session,
    *,
    unit_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    kind: str = "maintenance",
    actor: str = "operations",
    now: datetime | None = None,
) -> Block:
    """Take a unit out of service for a time, if no live engagement holds it then."""
    now = now or utcnow()
    _check_window(starts_at, ends_at, now)
    _check_kind(kind, UNIT_BLOCK_KINDS)
    reason = _check_reason(reason)

    def write() -> Block:
        unit = get_unit(session, unit_id=unit_id)
        kept = _kept_engagements(session, [unit.id], now)
        _refuse_if_engaged(
            session, [unit.id], (starts_at, ends_at), unit.label, now, _zone(session, unit.site_id)
        )
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
        session.flush()
        _write_guards(session, [unit.id], now, kept)
        _audit(session, actor, "unit", unit.id, "blocked", now, block=_block_data(block))
        return block

    return run_write(session, write)


def close_site(
    session: Session,
    *,
    site_code: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    kind: str = "closure",
    actor: str = "operations",
    now: datetime | None = None,
) -> Block:
    """Close a whole site for a time (holiday, event, storm), if nothing is booked then."""
    now = now or utcnow()
    _check_window(starts_at, ends_at, now)
    _check_kind(kind, SITE_BLOCK_KINDS)
    reason = _check_reason(reason)

    def write() -> Block:
        site = get_site(session, code=site_code)
        unit_ids = _site_resources(session, site.id)
        kept = _kept_engagements(session, unit_ids, now)
        _refuse_if_engaged(session, unit_ids, (starts_at, ends_at), site.name, now, site.time_zone)
        block = Block(
            site_id=site.id,
            unit_id=None,
            kind=kind,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_at=now,
        )
        session.add(block)
        session.flush()
        _write_guards(session, unit_ids, now, kept)
        _audit(session, actor, "site", site.id, "closed", now, block=_block_data(block))
        return block

    return run_write(session, write)


def change_block(
    session: Session,
    *,
    block_id: int,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    reason: str | None = None,
    actor: str = "operations",
    now: datetime | None = None,
) -> Block:
    """Move, end early or extend a block; the time it newly covers must be free."""
    now = now or utcnow()

    def write() -> Block:
        block = get_block(session, block_id=block_id)
        _refuse_retirement(block, "change")
        if block.ends_at <= now:
            raise Invalid(f"Block {block.id} is over; it stays as history.")
        new_start = starts_at or block.starts_at
        new_end = ends_at or block.ends_at
        _check_window(new_start, new_end, now)
        unit_ids = _block_units(session, block)
        kept = _kept_engagements(session, unit_ids, now)
        # Only the time the block did not cover before can hold engagements.
        for gap in _uncovered((new_start, new_end), (block.starts_at, block.ends_at)):
            _refuse_if_engaged(
                session,
                unit_ids,
                gap,
                _subject_name(session, block),
                now,
                _zone(session, block.site_id),
            )
        before = _block_data(block)
        block.starts_at, block.ends_at = new_start, new_end
        if reason is not None:
            block.reason = _check_reason(reason)
        session.flush()
        _write_guards(session, unit_ids, now, kept)
        subject = ("unit", block.unit_id) if block.unit_id else ("site", block.site_id)
        _audit(
            session,
            actor,
            subject[0],
            subject[1],
            "block_changed",
            now,
            before=before,
            after=_block_data(block),
        )
        return block

    return run_write(session, write)


def remove_block(
    session: Session, *, block_id: int, actor: str = "operations", now: datetime | None = None
) -> Block:
    """Give the time back: the unit (or the whole site) can be booked again."""
    now = now or utcnow()

    def write() -> Block:
        block = get_block(session, block_id=block_id)
        _refuse_retirement(block, "remove")
        if block.ends_at <= now:
            raise Invalid(f"Block {block.id} is over; it stays as history.")
        unit_ids = _block_units(session, block)
        kept = _kept_engagements(session, unit_ids, now)
        data = _block_data(block)
        session.delete(block)
        session.flush()
        _write_guards(session, unit_ids, now, kept)
        subject = ("unit", block.unit_id) if block.unit_id else ("site", block.site_id)
        action = "unblocked" if block.unit_id else "reopened"
        _audit(session, actor, subject[0], subject[1], action, now, block=data)
        return block

    return run_write(session, write)


def retire_unit(
    session: Session,
    *,
    unit_id: int,
    reason: str,
    actor: str = "operations",
    now: datetime | None = None,
) -> Unit:
    """Take a unit out of the fleet for good (sold, written off, left), once nothing from now
    on is booked on it."""
    now = now or utcnow()
    reason = _check_reason(reason)

    def write() -> Unit:
        unit = get_unit(session, unit_id=unit_id)
        if not unit.active:
            raise Conflict(f"{unit.label} is already retired.")
        kept = _kept_engagements(session, [unit.id], now)
        _refuse_if_engaged(
            session, [unit.id], (now, RETIRED_UNTIL), unit.label, now, _zone(session, unit.site_id)
        )
        unit.active = False
        session.add(
            Block(
                site_id=unit.site_id,
                unit_id=unit.id,
                kind=RETIRED_KIND,
                starts_at=now,
                ends_at=RETIRED_UNTIL,
                reason=reason,
                created_at=now,
            )
        )
        session.flush()
        _write_guards(session, [unit.id], now, kept)
        _audit(session, actor, "unit", unit.id, "retired", now, reason=reason)
        return unit

    unit = run_write(session, write)
    service.invalidate_cache()
    return unit


def reactivate_unit(
    session: Session, *, unit_id: int, actor: str = "operations", now: datetime | None = None
) -> Unit:
    now = now or utcnow()

    def write() -> Unit:
        unit = get_unit(session, unit_id=unit_id)
        if unit.active:
            raise Conflict(f"{unit.label} is in service already.")
        kept = _kept_engagements(session, [unit.id], now)
        unit.active = True
        session.execute(
            delete(Block).where(
                Block.unit_id == unit.id, Block.kind == RETIRED_KIND, Block.ends_at > now
            )
        )
        session.flush()
        _write_guards(session, [unit.id], now, kept)
        _audit(session, actor, "unit", unit.id, "reactivated", now)
        return unit

    unit = run_write(session, write)
    service.invalidate_cache()
    return unit


def refresh_guards(
    session: Session, *, unit_ids: Sequence[int], now: datetime | None = None
) -> None:
    """Guard these units' blocked time again after an engagement left them: time a block left
    to a booking it could not move (relocation.py) is blocked once that booking is gone."""
    now = now or utcnow()
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
    session.rollback()  # end the read
    if blocked is not None:

        def write() -> None:
            _write_guards(session, ids, now, _kept_engagements(session, ids, now))

        run_write(session, write)


# --- internals -------------------------------------------------------------------------------


def _check_window(start: datetime, end: datetime, now: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("Give times with a UTC offset (the CLI reads them in the site's time).")
    if end <= start:
        raise Invalid("A block must end after it starts.")
    if end <= now:
        raise Invalid("A block must end in the future; past time needs no block.")
    if end - start > MAX_BLOCK:
        raise Invalid(f"A block may last at most {MAX_BLOCK.days} days; retire a unit instead.")


def _check_kind(kind: str, allowed: Sequence[str]) -> None:
    if kind not in allowed:
        raise Invalid(f"Unknown kind '{kind}'; use one of: {', '.join(allowed)}.")


def _check_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise Invalid("Say why (a reason of at least 3 characters).")
    if len(reason) > 500:
        raise Invalid("Keep the reason under 500 characters.")
    return reason


def _refuse_retirement(block: Block, verb: str) -> None:
    if block.kind == RETIRED_KIND:
        raise Conflict(
            f"Block {block.id} is the unit's retirement; reactivate the unit to {verb} it."
        )


def _zone(session: Session, site_id: int) -> str:
    return session.get_one(Site, site_id).time_zone


def _subject_name(session: Session, block: Block) -> str:
    if block.unit_id is not None:
        return session.get_one(Unit, block.unit_id).label
    return session.get_one(Site, block.site_id).name


def _block_units(session: Session, block: Block) -> list[int]:
    if block.unit_id is not None:
        return [block.unit_id]
    return _site_resources(session, block.site_id)


def _site_resources(session: Session, site_id: int) -> list[int]:
    """What a site closure closes: every unit of the site but dealers' places and guests'
    cars (a day's closure must not take a dealer's month of places)."""
    quota = (
        select(pool_membership.c.unit_id)
        .join(Pool, Pool.id == pool_membership.c.pool_id)
        .where(Pool.site_id == site_id, Pool.kind.in_(NOT_RESOURCES))
    )
    return list(
        session.scalars(select(Unit.id).where(Unit.site_id == site_id, Unit.id.not_in(quota)))
    )


def _uncovered(
    new: tuple[datetime, datetime], old: tuple[datetime, datetime]
) -> list[tuple[datetime, datetime]]:
    parts = [(new[0], min(new[1], old[0])), (max(new[0], old[1]), new[1])]
    if new[1] <= old[0] or old[1] <= new[0]:
        parts = [new]
    return [(s, e) for s, e in parts if e > s]


def _refuse_if_engaged(
    session: Session,
    unit_ids: Sequence[int],
    window: tuple[datetime, datetime],
    who: str,
    now: datetime,
    time_zone: str,
) -> None:
    """Refuse, naming them, if live engagements hold these units in the window (from now on:
    what already happened is history). Lapsed holds are let go."""
    start = max(window[0], now)
    if not unit_ids or start >= window[1]:
        return
    held = _engagements(session, unit_ids, (start, window[1]), now, release_lapsed=True)
    if not held:
        return
    grouped: dict[tuple[str, int], list[Engagement]] = defaultdict(list)
    for e in held:
        grouped[(e.kind, e.id)].append(e)
    affected: list[dict[str, Any]] = [
        {
            "kind": kind,
            "id": ident,
            "reference": parts[0].reference,
            "starts_at": min(p.starts_at for p in parts).isoformat(),
            "ends_at": max(p.ends_at for p in parts).isoformat(),
            "units": sorted({p.unit_label for p in parts}),
        }
        for (kind, ident), parts in grouped.items()
    ]
    zone = ZoneInfo(time_zone)

    def when(iso: str, fmt: str) -> str:
        return datetime.fromisoformat(iso).astimezone(zone).strftime(fmt)

    shown = "; ".join(
        f"{a['reference']} {when(a['starts_at'], '%Y-%m-%d %H:%M')}-{when(a['ends_at'], '%H:%M')}"
        for a in affected[:10]
    )
    more = f" and {len(affected) - 10} more" if len(affected) > 10 else ""
    raise Conflict(
        f"{who} is booked in that time ({len(affected)} engagement(s)); move or cancel them "
        f"first: {shown}{more} ({time_zone} time).",
        affected=affected,
    )


Kept = dict[int, list[tuple[datetime, datetime]]]


def _write_guards(session: Session, unit_ids: Sequence[int], now: datetime, kept: Kept) -> None:
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


def _kept_engagements(session: Session, unit_ids: Sequence[int], now: datetime) -> Kept:
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


def _block_data(block: Block) -> dict[str, Any]:
    return {
        "id": block.id,
        "kind": block.kind,
        "unit_id": block.unit_id,
        "starts_at": block.starts_at.isoformat(),
        "ends_at": block.ends_at.isoformat(),
        "reason": block.reason,
    }


def _audit(
    session: Session,
    actor: str,
    subject_kind: str,
    subject_id: int,
    action: str,
    now: datetime,
    **data: Any,
) -> None:
    audit.record(
        session,
        actor=actor,
        subject_kind=subject_kind,
        subject_id=subject_id,
        action=action,
        at=now,
        **data,
    )
