"""Changing the capacity itself: maintenance blocks, site closures, retiring and reactivating
units.

A block is refused while live engagements hold the unit in that time: operations move or
cancel them first, so nobody is silently left without a car or a coach (relocation.py blocks a
unit and moves them to free units of the same pool in the same transaction). The database
keeps it so under concurrent writers too: each unit's blocked time is mirrored as allocation
rows of kind `blocked` (guards.py), so the exclusion constraint (PostgreSQL) or the write lock
(SQLite) that keeps two bookings off one unit also keeps bookings out of blocked time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.capacity import service
from paddock.capacity.fleet import (
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
from paddock.capacity.guards import kept_engagements, write_guards
from paddock.capacity.models import Block, Pool, Site, Unit, pool_membership
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
        kept = kept_engagements(session, [unit.id], now)
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
        write_guards(session, [unit.id], now, kept)
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
        kept = kept_engagements(session, unit_ids, now)
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
        write_guards(session, unit_ids, now, kept)
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
        kept = kept_engagements(session, unit_ids, now)
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
        write_guards(session, unit_ids, now, kept)
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
        kept = kept_engagements(session, unit_ids, now)
        data = _block_data(block)
        session.delete(block)
        session.flush()
        write_guards(session, unit_ids, now, kept)
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
        kept = kept_engagements(session, [unit.id], now)
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
        write_guards(session, [unit.id], now, kept)
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
        kept = kept_engagements(session, [unit.id], now)
        unit.active = True
        session.execute(
            delete(Block).where(
                Block.unit_id == unit.id, Block.kind == RETIRED_KIND, Block.ends_at > now
            )
        )
        session.flush()
        write_guards(session, [unit.id], now, kept)
        _audit(session, actor, "unit", unit.id, "reactivated", now)
        return unit

    unit = run_write(session, write)
    service.invalidate_cache()
    return unit


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
