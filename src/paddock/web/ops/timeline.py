"""Today's schedule per resource: a read model for the operations timeline.

Rows are units grouped by pool (coaches merged into one group, since one coach sits in several
qualification pools); columns are 5-minute ticks of the site's local day between opening and
closing (widened to cover anything booked outside); bars are allocations (booking ref and
guest) and blocks (maintenance, closures). Positions are CSS grid lines, so the page needs no
inline style (the strict CSP forbids it): `timeline.css` holds the grid classes and is built
here and served as a fingerprinted asset.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from paddock.bookings.models import Booking
from paddock.capacity.models import Allocation, Block, Pool, Site, SiteHours, Unit, pool_membership
from paddock.catalog.models import Product

TICK_MINUTES = 5
TICKS_PER_HOUR = 60 // TICK_MINUTES
MAX_TICKS = 24 * TICKS_PER_HOUR + 2 * TICKS_PER_HOUR  # a 25-hour DST day, and a margin
KIND_ORDER = ("vehicle_model", "coach", "module", "simulator", "seat", "bay", "specialist")
KIND_LABELS = {
    "vehicle_model": "Cars",
    "coach": "Coaches",
    "module": "Circuit modules",
    "simulator": "Simulators",
    "seat": "Seats",
    "bay": "Bays",
    "specialist": "Specialists",
}
# Shown open on first load; the others are folded (<details>) to keep the page short.
OPEN_KINDS = frozenset({"vehicle_model", "coach", "module", "simulator"})
# Kinds merged into one group whatever pool they come from.
MERGED_KINDS = frozenset({"coach"})
# Pools that are not physical resources (a dealer's monthly places) stay off the timeline.
HIDDEN_KINDS = frozenset({"dealer_allotment"})
# Allocation rows that mirror blocks (capacity.operations): the block itself is drawn instead.
GUARD_KIND = "blocked"
DEFAULT_HOURS = (time(8), time(18))


@dataclass(frozen=True)
class Bar:
    start: int  # grid line (1-based)
    end: int
    kind: str  # booking | hold | block | closure | other
    label: str
    title: str
    href: str = ""
    status: str = ""


@dataclass
class Row:
    unit_id: int
    label: str
    note: str
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Group:
    key: str
    name: str
    kind: str
    rows: list[Row] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.kind in OPEN_KINDS

    @property
    def busy_rows(self) -> int:
        return sum(1 for r in self.rows if any(b.kind in ("booking", "hold") for b in r.bars))


@dataclass(frozen=True)
class Hour:
    label: str
    start: int
    end: int


@dataclass
class Timeline:
    site: Site
    day: date
    starts_at: datetime
    ends_at: datetime
    ticks: int
    hours: list[Hour]
    groups: list[Group]
    now_line: int | None
    closed: bool
    closures: list[Block]
    bookings: int
    checked_in: int

    @property
    def span_class(self) -> str:
        return f"ticks-{self.ticks}"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def load_timeline(session: Session, *, site: Site, day: date, now: datetime) -> Timeline:
    zone = ZoneInfo(site.time_zone)
    day_start, day_end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    memberships = session.execute(
        select(Pool.id, Pool.code, Pool.name, Pool.kind, Unit.id, Unit.label, Unit.attributes)
        .join(pool_membership, pool_membership.c.pool_id == Pool.id)
        .join(Unit, Unit.id == pool_membership.c.unit_id)
        .where(Pool.site_id == site.id, Unit.active.is_(True), Pool.kind.not_in(HIDDEN_KINDS))
        .order_by(Pool.id, Unit.id)
    ).all()
    unit_ids = sorted({m[4] for m in memberships})
    allocations = (
        session.execute(
            select(
                Allocation.unit_id,
                Allocation.engagement_kind,
                Allocation.engagement_id,
                Allocation.starts_at,
                Allocation.ends_at,
                Allocation.expires_at,
            ).where(
                Allocation.unit_id.in_(unit_ids),
                Allocation.active.is_(True),
                Allocation.engagement_kind != GUARD_KIND,
                Allocation.starts_at < day_end,
                Allocation.ends_at > day_start,
            )
        ).all()
        if unit_ids
        else []
    )
    live = [a for a in allocations if a.expires_at is None or a.expires_at > now]
    booking_ids = sorted({a.engagement_id for a in live if a.engagement_kind == "booking"})
    bookings = {
        b.id: b
        for b in (
            session.execute(
                select(
                    Booking.id,
                    Booking.ref,
                    Booking.guest_name,
                    Booking.status,
                    Booking.starts_at,
                    Booking.ends_at,
                    Product.name.label("product"),
                )
                .join(Product, Product.id == Booking.product_id)
                .where(Booking.id.in_(booking_ids))
            ).all()
            if booking_ids
            else []
        )
    }
    blocks = session.scalars(
        select(Block)
        .where(
            Block.site_id == site.id,
            or_(Block.unit_id.in_(unit_ids), Block.unit_id.is_(None)),
            Block.starts_at < day_end,
            Block.ends_at > day_start,
        )
        .order_by(Block.starts_at)
    ).all()
    hours = session.execute(
        select(SiteHours.opens_at, SiteHours.closes_at).where(
            SiteHours.site_id == site.id, SiteHours.weekday == day.weekday()
        )
    ).all()

    closed = not hours
    opens = min((h[0] for h in hours), default=DEFAULT_HOURS[0])
    closes = max((h[1] for h in hours), default=DEFAULT_HOURS[1])
    start = datetime.combine(day, opens.replace(minute=0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
    if closes <= opens:
        end = day_end
    for a in live:
        start = min(start, max(a.starts_at, day_start))
        end = max(end, min(a.ends_at, day_end))
    start = _floor_hour(start, zone)
    end = min(_ceil_hour(end, zone), day_end)
    ticks = max(TICKS_PER_HOUR, int((end - start).total_seconds() // 60) // TICK_MINUTES)

    def line(moment: datetime) -> int:
        offset = int((moment - start).total_seconds() // 60)
        return min(max(offset // TICK_MINUTES, 0), ticks) + 1

    def end_line(moment: datetime) -> int:
        offset = int((moment - start).total_seconds() // 60)
        return min(max(-(-offset // TICK_MINUTES), 0), ticks) + 1

    per_unit: dict[int, list[Bar]] = defaultdict(list)
    for a in live:
        first, last = line(a.starts_at), end_line(a.ends_at)
        if last <= first:
            continue
        span = _span(a.starts_at, a.ends_at, zone)
        if a.engagement_kind == "booking" and a.engagement_id in bookings:
            b = bookings[a.engagement_id]
            hold = a.expires_at is not None
            per_unit[a.unit_id].append(
                Bar(
                    first,
                    last,
                    "hold" if hold else "booking",
                    f"{b.ref} {b.guest_name.split(' ')[-1]}" if not hold else f"{b.ref} (hold)",
                    f"{b.ref} · {b.guest_name} · {b.product} · {span}"
                    + (" · on hold" if hold else f" · {b.status.replace('_', ' ')}"),
                    f"/ops/bookings/{b.ref}",
                    str(b.status),
                )
            )
        else:
            label = f"{a.engagement_kind.replace('_', ' ')} #{a.engagement_id}"
            per_unit[a.unit_id].append(Bar(first, last, "other", label, f"{label} · {span}"))
    closures: list[Block] = []
    for block in blocks:
        first, last = line(block.starts_at), end_line(block.ends_at)
        if last <= first:
            continue
        text = block.reason or block.kind.replace("_", " ").capitalize()
        title = f"{block.kind.replace('_', ' ').capitalize()}: {text} · " + _span(
            block.starts_at, block.ends_at, zone, day=True
        )
        if block.unit_id is None:
            closures.append(block)
            for unit_id in unit_ids:
                per_unit[unit_id].append(Bar(first, last, "closure", text, title))
        else:
            per_unit[block.unit_id].append(Bar(first, last, "block", text, title))

    groups: dict[str, Group] = {}
    seen: set[int] = set()
    ordered = sorted(
        memberships,
        key=lambda m: (
            KIND_ORDER.index(m[3]) if m[3] in KIND_ORDER else len(KIND_ORDER),
            m[0],
            m[5],
        ),
    )
    qualifications: dict[int, list[str]] = defaultdict(list)
    for _pool, _code, pool_name, kind, unit_id, _label, _attrs in memberships:
        if kind in MERGED_KINDS:
            qualifications[unit_id].append(pool_name)
    for pool_id, _code, pool_name, kind, unit_id, label, attrs in ordered:
        if unit_id in seen:
            continue
        seen.add(unit_id)
        key = kind if kind in MERGED_KINDS else f"pool-{pool_id}"
        name = KIND_LABELS.get(kind, kind) if kind in MERGED_KINDS else pool_name
        group = groups.setdefault(key, Group(key, name, kind))
        note = ""
        if kind == "vehicle_model":
            note = str((attrs or {}).get("vin", ""))[-6:]
        elif kind in MERGED_KINDS:
            note = ", ".join(sorted(qualifications[unit_id]))
        group.rows.append(
            Row(unit_id, label, note, sorted(per_unit.get(unit_id, []), key=lambda b: b.start))
        )

    hour_marks: list[Hour] = []
    moment = start
    while moment < end:
        following = min(moment + timedelta(hours=1), end)
        hour_marks.append(
            Hour(moment.astimezone(zone).strftime("%H:%M"), line(moment), end_line(following))
        )
        moment = following
    now_line = line(now) if start <= now < end else None
    live_bookings = {a.engagement_id for a in live if a.engagement_kind == "booking"}
    checked = sum(1 for i in live_bookings if i in bookings and bookings[i].status == "checked_in")
    return Timeline(
        site=site,
        day=day,
        starts_at=start,
        ends_at=end,
        ticks=ticks,
        hours=hour_marks,
        groups=list(groups.values()),
        now_line=now_line,
        closed=closed,
        closures=closures,
        bookings=len(live_bookings),
        checked_in=checked,
    )


def _floor_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def _ceil_hour(moment: datetime, zone: ZoneInfo) -> datetime:
    floored = _floor_hour(moment, zone)
    return floored if floored == moment else floored + timedelta(hours=1)


def _span(starts: datetime, ends: datetime, zone: ZoneInfo, *, day: bool = False) -> str:
    fmt = "%a %-d %b %H:%M" if day else "%H:%M"
    return f"{starts.astimezone(zone).strftime(fmt)}–{ends.astimezone(zone).strftime(fmt)}"


def grid_css() -> bytes:
    """The placement classes: `ticks-N` sets the column count, `gs-N`/`ge-N` a bar's lines."""
    rules = [f".ticks-{n}{{--ticks:{n}}}" for n in range(1, MAX_TICKS + 1)]
    rules += [f".gs-{n}{{grid-column-start:{n}}}" for n in range(1, MAX_TICKS + 2)]
    rules += [f".ge-{n}{{grid-column-end:{n}}}" for n in range(1, MAX_TICKS + 2)]
    header = "/* Generated by paddock.web.ops.timeline.grid_css: timeline grid placement. */\n"
    return (header + "\n".join(rules) + "\n").encode()
