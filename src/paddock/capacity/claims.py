"""Claims, and taking their units: on PostgreSQL in one statement, on SQLite by a probe per
candidate under the write lock.

A claim is a demand placed in time with the units that could meet it, best first: those that
work over the whole interval (from the cached shifts and hours), least used first, ties in a
random order so that concurrent writers spread out. The database function capacity_take()
(capacity/sql/) tries them in that order; the exclusion constraint both checks each unit and
arbitrates between writers. Units it found busy come back as hints, so that this process tries
them last next time (a hint only orders candidates; it never decides).

SQLite has one writer at a time: under its lock a unit is free when its first active
allocation ending after the interval's start begins at or after the interval's end. Active
allocations of a unit never overlap, so in order of end they are in order of start too, and a
partial index on (unit, end) of active rows answers that with one seek.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from math import gcd
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection

from paddock.capacity.engine import Demand, Pick, Shortfall
from paddock.capacity.units import SiteClock, StaticUnits
from paddock.errors import SoldOut

T = TypeVar("T")
SOLD_OUT_STATE = "PD001"  # raised by capacity_take() when a demand cannot be met


@dataclass(frozen=True)
class Claim:
    demand: Demand
    starts_at: datetime
    ends_at: datetime
    candidates: tuple[int, ...]  # unit ids, best first

    def pick(self, unit_id: int, labels: dict[int, str]) -> Pick:
        return Pick(self.demand, unit_id, labels.get(unit_id, "?"), self.starts_at, self.ends_at)

    def shortfall(self, free: int) -> Shortfall:
        demand = self.demand
        return Shortfall(
            demand.pool_code,
            demand.pool_name,
            self.starts_at,
            self.ends_at,
            demand.quantity,
            free,
            demand.public_name,
        )


@dataclass(frozen=True)
class Claims:
    """An engagement's claims, in the order the database should meet them (the scarcest
    first), and the labels of their units."""

    items: tuple[Claim, ...]
    labels: dict[int, str]

    def arguments(self) -> dict[str, str]:
        """capacity_take()'s pools, quantities, starts, ends, candidates and first indexes, by
        name, as array literals (the driver's list adaptation costs more than the rest of a
        booking's Python work)."""
        candidates: list[int] = []
        first: list[int] = []
        for claim in self.items:
            first.append(len(candidates) + 1)
            candidates.extend(claim.candidates)
        first.append(len(candidates) + 1)
        return {
            "pools": _array(c.demand.pool_id for c in self.items),
            "quantities": _array(c.demand.quantity for c in self.items),
            "starts": _array(_iso(c.starts_at) for c in self.items),
            "ends": _array(_iso(c.ends_at) for c in self.items),
            "candidates": _array(candidates),
            "first": _array(first),
        }

    def picks(self, taken: Sequence[int]) -> list[Pick]:
        """The units the database took (demand after demand) as picks."""
        picks: list[Pick] = []
        position = 0
        for claim in self.items:
            for unit_id in taken[position : position + claim.demand.quantity]:
                picks.append(claim.pick(unit_id, self.labels))
            position += claim.demand.quantity
        return picks

    def shortfalls(self, detail: str) -> list[Shortfall]:
        """capacity_take()'s "demand:free;" detail as shortfalls."""
        out: list[Shortfall] = []
        for part in filter(None, detail.split(";")):
            index, free = (int(n) for n in part.split(":"))
            out.append(self.items[index - 1].shortfall(free))
        return out

    def remember(self, taken: Sequence[int], busy: Sequence[int]) -> None:
        """Note the units now known to be taken over these intervals."""
        taken_set = set(taken) | set(busy)
        for claim in self.items:
            known = [u for u in claim.candidates if u in taken_set]
            if known:
                hints.add(claim.demand.pool_id, claim.starts_at, claim.ends_at, known)


@lru_cache(maxsize=8192)
def _iso(moment: datetime) -> str:
    """A slot's instants recur for each of its bookings."""
    return moment.isoformat()


def _array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers or ISO instants (nothing to quote in either)."""
    return "{" + ",".join(map(str, values)) + "}"


def pool_ids(demands: Iterable[Demand]) -> tuple[int, ...]:
    """The pools of these demands, sorted: the key of their units in the cache."""
    return tuple(sorted({d.pool_id for d in demands}))


def claims(
    static: StaticUnits, site: SiteClock, demands: Sequence[Demand], start: datetime
) -> Claims:
    """Each demand at this start with its candidate units, best first, from a snapshot of the
    units of the demands' pools (`static_units`, read once and cached a few seconds)."""
    items = []
    for demand in demands:
        starts, ends = start + demand.offset, start + demand.offset + demand.duration
        works = static.working(site, starts, ends)
        items.append(
            Claim(demand, starts, ends, candidates(static, works, demand.pool_id, starts, ends))
        )
    # Scarcest first: with units shared between pools, the demand with fewest ways is served
    # before another takes its units (as the engine's choose_units does).
    items.sort(key=lambda c: len(c.candidates) - c.demand.quantity)
    return Claims(tuple(items), static.labels)


def candidates(
    static: StaticUnits, works: Sequence[bool], pool_id: int, starts: datetime, ends: datetime
) -> tuple[int, ...]:
    """The pool's units whose pattern `works` over [starts, ends), least used first, ties in
    a random order, those recently found busy then (hints) last."""
    known = hints.get(pool_id, starts, ends)
    if all(works):  # the usual case: no unit is off shift then
        turned = [u for ids in static.ranked_ids.get(pool_id, ()) for u in _shuffled(ids)]
        if not known:
            return tuple(turned)
        return (*[u for u in turned if u not in known], *[u for u in turned if u in known])
    first: list[int] = []
    last: list[int] = []
    for group in static.ranked.get(pool_id, ()):
        for unit_id, pattern in _shuffled(group):
            if works[pattern]:
                (last if unit_id in known else first).append(unit_id)
    return (*first, *last)


_rng = random.Random()
_strides: dict[int, list[int]] = {}
# (size, start, stride) -> the permutation as one C call; at most size * phi(size) per size.
_permutations: dict[tuple[int, int, int], Callable[[Sequence[Any]], tuple[Any, ...]]] = {}


def _shuffled(group: tuple[T, ...]) -> Sequence[T]:
    """The units of a group of equal usage in a random order: a random start and a random
    stride prime to the size, a permutation for a few random numbers instead of a shuffle.
    (Not a rotation: concurrent writers would then take runs of neighbours, and a later one
    starting inside a run would probe it all, as linear probing does in a full table.)"""
    n = len(group)
    if n == 1:
        return group
    strides = _strides.get(n)
    if strides is None:
        strides = _strides.setdefault(n, [s for s in range(1, n) if gcd(s, n) == 1])
    start, stride = _rng.randrange(n), _rng.choice(strides)
    key = (n, start, stride)
    permute = _permutations.get(key)
    if permute is None:
        permute = _permutations.setdefault(
            key, itemgetter(*((start + k * stride) % n for k in range(n)))
        )
    return permute(group)


class BusyHints:
    """Units recently found taken, per pool and interval: tried last by the next claims of the
    same interval. Bounded and short-lived; a released unit only loses its place in line."""

    def __init__(self, *, size: int = 20_000, seconds: float = 60.0) -> None:
        self.size = size
        self.seconds = seconds
        self._known: OrderedDict[tuple[int, datetime, datetime], tuple[float, set[int]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, pool_id: int, starts: datetime, ends: datetime) -> frozenset[int]:
        with self._lock:
            entry = self._known.get((pool_id, starts, ends))
        if entry is None or time.monotonic() - entry[0] > self.seconds:
            return frozenset()
        return frozenset(entry[1])

    def add(self, pool_id: int, starts: datetime, ends: datetime, units: Sequence[int]) -> None:
        key = (pool_id, starts, ends)
        now = time.monotonic()
        with self._lock:
            entry = self._known.pop(key, None)
            known = entry[1] if entry is not None and now - entry[0] <= self.seconds else set()
            known.update(units)
            self._known[key] = (now, known)
            while len(self._known) > self.size:
                self._known.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


hints = BusyHints()

# Inside a caller's transaction the careful way at once: a refused quick INSERT would abort
# the transaction (bookings, which own theirs, try the quick way first: bookings/postgres.py).
TAKE = (
    "SELECT taken, busy FROM capacity_take(%(kind)s, %(id)s, %(expires_at)s, %(now)s, "
    "%(pools)s::int[], %(quantities)s::int[], %(starts)s::timestamptz[], "
    "%(ends)s::timestamptz[], %(candidates)s::int[], %(first)s::int[], true)"
)


def take(
    connection: Connection,
    chosen: Claims,
    *,
    engagement_kind: str,
    engagement_id: int,
    expires_at: datetime | None,
    now: datetime,
) -> list[Pick]:
    """Inside the caller's transaction: take every claim's units for the engagement, or raise
    the database's PD001 (see sold_out_detail)."""
    taken, busy = connection.exec_driver_sql(
        TAKE,
        {
            "kind": engagement_kind,
            "id": engagement_id,
            "expires_at": expires_at,
            "now": now,
            **chosen.arguments(),
        },
    ).one()
    chosen.remember(taken, busy)
    return chosen.picks(taken)


def sold_out_detail(error: BaseException | None) -> str | None:
    """The "demand:free;" detail of capacity_take()'s refusal (a driver's error), None for
    other errors."""
    if getattr(error, "sqlstate", None) != SOLD_OUT_STATE:
        return None
    diag = getattr(error, "diag", None)
    return str(getattr(diag, "message_detail", "") or "")


# SQLite stores instants as naive UTC text; compare like with like.
SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"
_NEXT_ACTIVE = (
    "SELECT id, starts_at, expires_at FROM allocation "
    "WHERE unit_id = ? AND active AND ends_at > ? ORDER BY ends_at"
)
_SWITCH_OFF = "UPDATE allocation SET active = 0 WHERE id = ?"
_INSERT_SQLITE = (
    "INSERT INTO allocation (engagement_kind, engagement_id, unit_id, pool_id, starts_at, "
    "ends_at, active, expires_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
)


def take_on_sqlite(
    cursor: Any,
    chosen: Claims,
    *,
    engagement_kind: str,
    engagement_id: int,
    expires_at: datetime | None,
    now: datetime,
) -> list[Pick]:
    """Inside SQLite's write transaction (a DB-API cursor): take every claim's first free
    candidates, or raise SoldOut naming each short demand. Lapsed holds in the way are
    switched off."""
    stamp = _sqlite_stamp(now)
    held: dict[int, list[tuple[datetime, datetime]]] = {}
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    lapsed: list[int] = []
    for claim in chosen.items:
        got = 0
        start, end = _sqlite_stamp(claim.starts_at), _sqlite_stamp(claim.ends_at)
        for unit_id in claim.candidates:
            if got == claim.demand.quantity:
                break
            if any(s < claim.ends_at and claim.starts_at < e for s, e in held.get(unit_id, ())):
                continue  # this engagement holds it then already
            if _free_on_sqlite(cursor, unit_id, start, end, stamp, lapsed):
                got += 1
                held.setdefault(unit_id, []).append((claim.starts_at, claim.ends_at))
                picks.append(claim.pick(unit_id, chosen.labels))
        if got < claim.demand.quantity:
            shortfalls.append(claim.shortfall(got))
    if shortfalls:
        raise sold_out(shortfalls)
    for allocation_id in lapsed:
        cursor.execute(_SWITCH_OFF, (allocation_id,))
    expires = _sqlite_stamp(expires_at) if expires_at is not None else None
    cursor.executemany(
        _INSERT_SQLITE,
        [
            (
                engagement_kind,
                engagement_id,
                p.unit_id,
                p.demand.pool_id,
                _sqlite_stamp(p.starts_at),
                _sqlite_stamp(p.ends_at),
                expires,
            )
            for p in sorted(picks, key=lambda p: (p.unit_id, p.starts_at))
        ],
    )
    return picks


def _free_on_sqlite(
    cursor: Any, unit_id: int, start: str, end: str, now: str, lapsed: list[int]
) -> bool:
    for allocation_id, starts_at, expires_at in cursor.execute(_NEXT_ACTIVE, (unit_id, start)):
        if expires_at is not None and expires_at <= now:
            lapsed.append(allocation_id)  # a hold past its expiry: not in the way
            continue
        return bool(starts_at >= end)
    return True


def _sqlite_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SQLITE_INSTANT)


def sold_out(shortfalls: Sequence[Shortfall]) -> SoldOut:
    """The refusal, naming each short pool by its code and its wording for guests (a booking
    answer reaches guests: never the internal name), when and by how much (the first binds)."""
    first = shortfalls[0]
    return SoldOut(
        "Not enough capacity: " + "; ".join(_guest_words(s) for s in shortfalls),
        shortfalls=[
            {
                "pool": s.pool_code,
                "wording": s.public_name or GENERIC_WORDING,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "needed": s.needed,
                "free": s.free,
                "missing": s.missing,
            }
            for s in shortfalls
        ],
        binding_pool=first.pool_code,
    )


GENERIC_WORDING = "places"


def _guest_words(s: Shortfall) -> str:
    return (
        f"no {s.public_name or GENERIC_WORDING} free from {s.starts_at:%Y-%m-%d %H:%M} to "
        f"{s.ends_at:%H:%M} UTC ({s.needed} needed, {s.free} free)"
    )
