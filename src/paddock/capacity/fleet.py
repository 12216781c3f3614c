"""The fleet as it stands: each site's pools and units, their state now and today's use, and
who holds a unit (the engagements, named by their domains' describers).

Changing it (blocks, closures, retiring) is capacity/blocks.py; capacity/operations.py gathers
both for the interfaces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from paddock.capacity import engine
from paddock.capacity.models import Allocation, Block, Pool, Site, Unit, pool_membership
from paddock.capacity.units import NOT_RESOURCES
from paddock.db import utcnow
from paddock.errors import Invalid, NotFound

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
