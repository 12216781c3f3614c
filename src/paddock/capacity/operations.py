"""Operations on the capacity itself: the state of pools and units today, maintenance blocks,
site closures, retiring and reactivating units.

A block is refused while live engagements hold the unit in that time: operations move or
cancel them first, so nobody is silently left without a car or a coach. The database keeps it
so under concurrent writers too: each unit's blocked time is mirrored as allocation rows of
kind `blocked`, so the exclusion constraint (PostgreSQL) or the write lock (SQLite) that keeps
two bookings off one unit also keeps bookings out of blocked time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload

from paddock.audit import service as audit
from paddock.capacity import engine
from paddock.capacity import service as capacity
from paddock.capacity.models import Allocation, Block, Pool, Site, Unit, pool_membership
from paddock.capacity.units import NOT_RESOURCES
from paddock.db import utcnow, write_transaction
from paddock.errors import Conflict, Invalid, NotFound

# Allocation rows that mirror blocks; they are not usage and never belong to an engagement.
GUARD_KIND = "blocked"
UNIT_BLOCK_KINDS = ("maintenance", "repair", "leave", "training", "other")
SITE_BLOCK_KINDS = ("closure", "event", "weather", "other")
RETIRED_KIND = "retired"
# A retired unit stays out "for ever": its retirement is a block until this instant.
RETIRED_UNTIL = datetime(2200, 1, 1, tzinfo=UTC)
MAX_BLOCK = timedelta(days=400)
# A retired unit is out of every pool; its guard rows only cover a writer that still had it in
# a cache, so they need not reach further than anyone books ahead.
GUARD_HORIZON = timedelta(days=400)
MAX_ATTEMPTS = 5

T = TypeVar("T")
# Turns engagement ids of one kind into the references people use (a booking's ref...).
Describer = Callable[[Session, Sequence[int]], dict[int, str]]
_describers: dict[str, Describer] = {}


def register_describer(kind: str, describer: Describer) -> None:
    """Domains built on the capacity (bookings, dealers, motorsport) say how their
    engagements are named, so a refused block can list them by name."""
    _describers[kind] = describer


@dataclass(frozen=True)
class Engagement:
    """An engagement's hold on one unit: who is in the way of a block, or today's schedule."""

    kind: str
    id: int
    reference: str
    unit_id: int
    unit_label: str
    starts_at: datetime
    ends_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "reference": self.reference,
            "unit_id": self.unit_id,
            "unit": self.unit_label,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
        }


@dataclass
class UnitState:
    unit: Unit
    site: Site
    state: str  # available | in_use | off_duty | blocked | closed | retired
    block: Block | None = None
    engagements_today: int = 0
    busy_minutes_today: int = 0

    @property
    def pool_codes(self) -> list[str]:
        return sorted(p.code for p in self.unit.pools)

    @property
    def qualifications(self) -> list[str]:
        return sorted(p.code for p in self.unit.pools if p.kind == "coach")


@dataclass
class PoolState:
    pool: Pool
    units: list[UnitState] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for u in self.units if u.state == state)

    @property
    def active(self) -> int:
        return sum(1 for u in self.units if u.unit.active)


@dataclass
class UnitDetail:
    state: UnitState
    blocks: list[Block]
    schedule: list[Engagement]


# --- reading ---------------------------------------------------------------------------------


def get_site(session: Session, *, code: str) -> Site:
    site = session.scalar(
        select(Site)
        .options(selectinload(Site.hours))
        .where(func.upper(Site.code) == code.strip().upper())
    )
    if site is None:
        raise NotFound(f"No site with code '{code}'.")
    return site


def get_unit(session: Session, *, unit_id: int) -> Unit:
    unit = session.scalar(
        select(Unit)
        .options(selectinload(Unit.pools), selectinload(Unit.shifts))
        .where(Unit.id == unit_id)
    )
    if unit is None:
        raise NotFound(f"No unit with id {unit_id}.")
    return unit


def get_site_of(session: Session, unit: Unit) -> Site:
    return session.get_one(Site, unit.site_id)


def find_unit(session: Session, *, ref: str, site_code: str | None = None) -> Unit:
    """A unit by id, label or VIN (case-insensitive), for people typing at a terminal."""
    if ref.isdigit():
        return get_unit(session, unit_id=int(ref))
    query = select(Unit)
    if site_code:
        query = query.where(Unit.site_id == get_site(session, code=site_code).id)
    wanted = ref.strip().lower()
    found = [
        u
        for u in session.scalars(query.order_by(Unit.id))
        if u.label.lower() == wanted or str(u.attributes.get("vin", "")).lower() == wanted
    ]
    if not found:
        raise NotFound(f"No unit '{ref}'" + (f" at {site_code.upper()}." if site_code else "."))
    if len(found) > 1:
        raise Invalid(f"'{ref}' names units at several sites; give the site (--site).")
    return get_unit(session, unit_id=found[0].id)


def pools_overview(
    session: Session, *, site_code: str, include_all: bool = False, now: datetime | None = None
) -> list[PoolState]:
    """Every resource pool of the site (with `include_all`, quota pools too) with its units
    and their state now and today (local day)."""
    now = now or utcnow()
    site = get_site(session, code=site_code)
    query = (
        select(Pool)
        .options(selectinload(Pool.units).selectinload(Unit.pools))
        .options(selectinload(Pool.units).selectinload(Unit.shifts))
        .where(Pool.site_id == site.id)
        .order_by(Pool.kind, Pool.code)
    )
    if not include_all:
        query = query.where(Pool.kind.not_in(NOT_RESOURCES))
    pools = session.scalars(query).all()
    units = {u.id: u for p in pools for u in p.units}
    states = _states(session, site, list(units.values()), now)
    return [
        PoolState(p, [states[u.id] for u in sorted(p.units, key=lambda u: u.label)]) for p in pools
    ]


def list_units(
    session: Session,
    *,
    site_code: str,
    kind: str | None = None,
    pool_code: str | None = None,
    include_all: bool = False,
    now: datetime | None = None,
) -> list[UnitState]:
    """The site's units (of a kind, of a pool) with their state; quota places and customers'
    cars only with `include_all` or when their pool is asked for."""
    now = now or utcnow()
    site = get_site(session, code=site_code)
    query = (
        select(Unit)
        .options(selectinload(Unit.pools), selectinload(Unit.shifts))
        .where(Unit.site_id == site.id)
    )
    if kind:
        query = query.where(Unit.kind == kind)
    if pool_code:
        pool_id = session.scalar(
            select(Pool.id).where(Pool.site_id == site.id, Pool.code == pool_code)
        )
        if pool_id is None:
            raise NotFound(f"No pool '{pool_code}' at {site.code}.")
        query = query.join(pool_membership, pool_membership.c.unit_id == Unit.id).where(
            pool_membership.c.pool_id == pool_id
        )
    elif not include_all:
        members = select(pool_membership.c.unit_id).join(Pool, Pool.id == pool_membership.c.pool_id)
        query = query.where(
            or_(
                Unit.id.in_(members.where(Pool.kind.not_in(NOT_RESOURCES))),
                Unit.id.not_in(select(pool_membership.c.unit_id)),
            )
        )
    units = session.scalars(query.order_by(Unit.kind, Unit.label)).all()
    states = _states(session, site, list(units), now)
    return [states[u.id] for u in units]


def unit_detail(session: Session, *, unit_id: int, now: datetime | None = None) -> UnitDetail:
    """A unit with its state, its blocks from now on (its own and its site's) and today's
    schedule."""
    now = now or utcnow()
    unit = get_unit(session, unit_id=unit_id)
    site = session.get_one(Site, unit.site_id)
    state = _states(session, site, [unit], now)[unit.id]
    blocks = session.scalars(
        select(Block)
        .where(
            Block.site_id == site.id,
            or_(Block.unit_id == unit.id, Block.unit_id.is_(None)),
            Block.ends_at > now,
        )
        .order_by(Block.starts_at)
    ).all()
    day_start, day_end = local_day(now, site.time_zone)
    schedule = _engagements(session, [unit.id], (day_start, day_end), now)
    return UnitDetail(state, list(blocks), schedule)


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


def labels(session: Session, unit_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(unit_ids))
    if not ids:
        return {}
    rows = session.execute(select(Unit.id, Unit.label).where(Unit.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


def site_codes(session: Session, site_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(site_ids))
    if not ids:
        return {}
    rows = session.execute(select(Site.id, Site.code).where(Site.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


def local_day(moment: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """The site's local day around an instant, as UTC instants."""
    return day_bounds(moment.astimezone(ZoneInfo(time_zone)).date(), time_zone)


def day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """A local day as UTC instants (23 or 25 hours on daylight-saving change days)."""
    zone = ZoneInfo(time_zone)
    return (
        datetime.combine(day, time(), tzinfo=zone).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC),
    )


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
        _write_guards(session, [unit.id], now)
        _audit(session, actor, "unit", unit.id, "blocked", now, block=_block_data(block))
        return block

    return _run(session, write)


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
        _write_guards(session, unit_ids, now)
        _audit(session, actor, "site", site.id, "closed", now, block=_block_data(block))
        return block

    return _run(session, write)


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
        _write_guards(session, unit_ids, now)
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

    return _run(session, write)


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
        data = _block_data(block)
        session.delete(block)
        session.flush()
        _write_guards(session, unit_ids, now)
        subject = ("unit", block.unit_id) if block.unit_id else ("site", block.site_id)
        action = "unblocked" if block.unit_id else "reopened"
        _audit(session, actor, subject[0], subject[1], action, now, block=data)
        return block

    return _run(session, write)


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
        _write_guards(session, [unit.id], now)
        _audit(session, actor, "unit", unit.id, "retired", now, reason=reason)
        return unit

    unit = _run(session, write)
    capacity.invalidate_cache()
    return unit


def reactivate_unit(
    session: Session, *, unit_id: int, actor: str = "operations", now: datetime | None = None
) -> Unit:
    now = now or utcnow()

    def write() -> Unit:
        unit = get_unit(session, unit_id=unit_id)
        if unit.active:
            raise Conflict(f"{unit.label} is in service already.")
        unit.active = True
        session.execute(
            delete(Block).where(
                Block.unit_id == unit.id, Block.kind == RETIRED_KIND, Block.ends_at > now
            )
        )
        session.flush()
        _write_guards(session, [unit.id], now)
        _audit(session, actor, "unit", unit.id, "reactivated", now)
        return unit

    unit = _run(session, write)
    capacity.invalidate_cache()
    return unit


# --- internals -------------------------------------------------------------------------------


def _run(session: Session, work: Callable[[], T]) -> T:
    """One transaction; when a booking won a unit between our check and our write (the
    exclusion constraint says so), check again: this time the booking is named. A deadlock's
    victim was rolled back whole and runs again too."""
    for _ in range(MAX_ATTEMPTS):
        try:
            with write_transaction(session):
                return work()
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) == "23P01":
                continue
            raise
        except DBAPIError as exc:
            if capacity.is_deadlock(exc):
                continue
            if capacity.is_busy_error(exc):
                raise capacity.busy() from exc
            raise
    raise capacity.busy()


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


def _engagements(
    session: Session,
    unit_ids: Sequence[int],
    window: tuple[datetime, datetime],
    now: datetime,
    *,
    release_lapsed: bool = False,
) -> list[Engagement]:
    rows = session.execute(
        select(
            Allocation.id,
            Allocation.engagement_kind,
            Allocation.engagement_id,
            Allocation.unit_id,
            Allocation.starts_at,
            Allocation.ends_at,
            Allocation.expires_at,
        )
        .where(
            Allocation.unit_id.in_(unit_ids),
            Allocation.active.is_(True),
            Allocation.engagement_kind != GUARD_KIND,
            Allocation.starts_at < window[1],
            Allocation.ends_at > window[0],
        )
        .order_by(Allocation.starts_at, Allocation.id)
    ).all()
    lapsed = {r.id for r in rows if r.expires_at is not None and r.expires_at <= now}
    if lapsed and release_lapsed:
        # An expired hold no longer counts; switch it off so the guard rows can go in.
        session.execute(update(Allocation).where(Allocation.id.in_(lapsed)).values(active=False))
    live = [r for r in rows if r.id not in lapsed]
    names = _names(session, [(r.engagement_kind, r.engagement_id) for r in live])
    unit_labels = labels(session, [r.unit_id for r in live])
    return [
        Engagement(
            r.engagement_kind,
            r.engagement_id,
            names.get(
                (r.engagement_kind, r.engagement_id), f"{r.engagement_kind} #{r.engagement_id}"
            ),
            r.unit_id,
            unit_labels.get(r.unit_id, "?"),
            r.starts_at,
            r.ends_at,
        )
        for r in live
    ]


def _names(session: Session, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
    by_kind: dict[str, set[int]] = defaultdict(set)
    for kind, ident in keys:
        by_kind[kind].add(ident)
    out: dict[tuple[str, int], str] = {}
    for kind, ids in by_kind.items():
        describer = _describers.get(kind)
        if describer is None:
            continue
        for ident, name in describer(session, sorted(ids)).items():
            out[(kind, ident)] = name
    return out


def _write_guards(session: Session, unit_ids: Sequence[int], now: datetime) -> None:
    """Rewrite the guard rows of these units as the union of their blocks from now on. Inside
    the transaction the old rows are replaced atomically: a concurrent booking either sees the
    new rows or conflicts with them."""
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
        for starts, ends in engine.merge(intervals)
    ]
    if rows:
        session.execute(insert(Allocation), rows)


def _states(
    session: Session, site: Site, units: Sequence[Unit], now: datetime
) -> dict[int, UnitState]:
    if not units:
        return {}
    ids = [u.id for u in units]
    day_start, day_end = local_day(now, site.time_zone)
    blocks = session.scalars(
        select(Block).where(
            Block.site_id == site.id,
            or_(Block.unit_id.in_(ids), Block.unit_id.is_(None)),
            Block.starts_at <= now,
            Block.ends_at > now,
        )
    ).all()
    site_block = next((b for b in blocks if b.unit_id is None), None)
    unit_block = {b.unit_id: b for b in blocks if b.unit_id is not None}
    today = _engagements(session, ids, (min(day_start, now), max(day_end, now)), now)
    busy_now = {e.unit_id for e in today if e.starts_at <= now < e.ends_at}
    per_unit: dict[int, list[Engagement]] = defaultdict(list)
    for e in today:
        if e.starts_at < day_end and e.ends_at > day_start:
            per_unit[e.unit_id].append(e)
    zone = ZoneInfo(site.time_zone)
    local_today = now.astimezone(zone).date()
    opening = _weekly((h.weekday, h.opens_at, h.closes_at) for h in site.hours)
    out: dict[int, UnitState] = {}
    worked: dict[tuple[tuple[int, time, time], ...], list[tuple[datetime, datetime]]] = {}
    for unit in units:
        # Units share a handful of shift patterns: work each out once.
        pattern = tuple(sorted((s.weekday, s.starts_at, s.ends_at) for s in unit.shifts))
        if pattern not in worked:
            weekly = _weekly(pattern) if pattern else opening
            worked[pattern] = engine.local_intervals(
                local_today - timedelta(days=1), local_today, weekly, zone
            )
        working = worked[pattern]
        block = unit_block.get(unit.id)
        if not unit.active:
            state = "retired"
        elif site_block is not None:
            state, block = "closed", site_block
        elif block is not None:
            state = "blocked"
        elif unit.id in busy_now:
            state = "in_use"
        elif not any(s <= now < e for s, e in working):
            state = "off_duty"
        else:
            state = "available"
        mine = per_unit.get(unit.id, [])
        minutes = sum(
            (min(e.ends_at, day_end) - max(e.starts_at, day_start)).total_seconds() // 60
            for e in mine
        )
        out[unit.id] = UnitState(
            unit,
            site,
            state,
            block,
            engagements_today=len({(e.kind, e.id) for e in mine}),
            busy_minutes_today=int(minutes),
        )
    return out


def _weekly(rows: Iterable[tuple[int, time, time]]) -> dict[int, list[tuple[time, time]]]:
    weekly: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, opens, closes in rows:
        weekly[weekday].append((opens, closes))
    return dict(weekly)


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
