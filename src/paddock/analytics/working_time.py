"""When the centre's units work: their weekly patterns (a unit's shifts, else its site's hours)
less blocks, over a period. Units working the same pattern at the same site share its
intervals, so the cost follows patterns, not units (a few hundred units, not rows)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.analytics import sql
from paddock.analytics.scope import clip
from paddock.capacity import engine
from paddock.capacity.models import Block, Site, SiteHours, UnitShift

HOUR = 3600
Week = dict[int, list[tuple[time, time]]]


@dataclass(frozen=True)
class UnitTime:
    zone: ZoneInfo
    pattern: tuple[object, ...]  # the same for units sharing `working`
    working: list[engine.Interval]
    blocked: list[engine.Interval]  # the parts of `working` that blocks take


def working_time(
    session: Session, unit_sites: dict[int, int], start: datetime, end: datetime
) -> dict[int, UnitTime]:
    """Per unit (id: its site's id), its working intervals within [start, end) and the parts
    of them that blocks take."""
    if not unit_sites:
        return {}
    zones = {
        s.id: ZoneInfo(s.time_zone)
        for s in session.scalars(select(Site).where(Site.id.in_(set(unit_sites.values()))))
    }
    weekly: dict[tuple[str, int], Week] = defaultdict(lambda: defaultdict(list))
    for site_id, weekday, opens, closes in session.execute(
        select(SiteHours.site_id, SiteHours.weekday, SiteHours.opens_at, SiteHours.closes_at).where(
            SiteHours.site_id.in_(list(zones))
        )
    ):
        weekly[("site", site_id)][weekday].append((opens, closes))
    for unit_id, weekday, starts, ends in session.execute(
        select(UnitShift.unit_id, UnitShift.weekday, UnitShift.starts_at, UnitShift.ends_at).where(
            UnitShift.unit_id.in_(list(unit_sites))
        )
    ):
        weekly[("unit", unit_id)][weekday].append((starts, ends))
    blocks: dict[int, list[engine.Interval]] = defaultdict(list)
    for blocked, site_id, b_start, b_end in session.execute(
        select(Block.unit_id, Block.site_id, Block.starts_at, Block.ends_at).where(
            Block.site_id.in_(list(zones)),
            Block.starts_at < sql.instant(end),
            Block.ends_at > sql.instant(start),
        )
    ):
        targets = (
            [u for u, s in unit_sites.items() if s == site_id] if blocked is None else [blocked]
        )
        for target in targets:
            if target in unit_sites:
                blocks[target].append((b_start, b_end))
    patterns: dict[tuple[object, ...], list[engine.Interval]] = {}
    out: dict[int, UnitTime] = {}
    for unit_id, site_id in unit_sites.items():
        zone = zones[site_id]
        week = (
            weekly[("unit", unit_id)] if ("unit", unit_id) in weekly else weekly[("site", site_id)]
        )
        key = (site_id, *sorted((day, tuple(spans)) for day, spans in week.items()))
        if key not in patterns:
            days = (start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date())
            patterns[key] = clip(engine.local_intervals(*days, week, zone), start, end)
        working = patterns[key]
        cut = [
            (max(b_start, w_start), min(b_end, w_end))
            for b_start, b_end in (engine.merge(blocks[unit_id]) if unit_id in blocks else ())
            for w_start, w_end in working
            if b_end > w_start and b_start < w_end
        ]
        out[unit_id] = UnitTime(zone, key, working, cut)
    return out


def available_hours(
    session: Session, unit_sites: dict[int, int], start: datetime, end: datetime
) -> dict[int, float]:
    """Working hours per unit over [start, end)."""
    hours: dict[int, float] = {}
    for unit_id, unit in working_time(session, unit_sites, start, end).items():
        total = sum((e - s).total_seconds() for s, e in unit.working)
        for s, e in unit.blocked:
            total -= (e - s).total_seconds()
        hours[unit_id] = total / HOUR
    return hours


def working_by_hour(
    session: Session, unit_sites: dict[int, int], start: datetime, end: datetime
) -> dict[int, dict[int, float]]:
    """Working seconds per unit and local hour of day over [start, end)."""
    per_pattern: dict[tuple[object, ...], dict[int, float]] = {}
    out: dict[int, dict[int, float]] = {}
    for unit_id, unit in working_time(session, unit_sites, start, end).items():
        if unit.pattern not in per_pattern:
            per_pattern[unit.pattern] = by_local_hour(unit.working, unit.zone)
        hours = per_pattern[unit.pattern]
        if not unit.blocked:
            out[unit_id] = hours
            continue
        own = dict(hours)
        for hour, seconds in by_local_hour(unit.blocked, unit.zone).items():
            own[hour] = own.get(hour, 0.0) - seconds
        out[unit_id] = own
    return out


def by_local_hour(intervals: Sequence[engine.Interval], zone: ZoneInfo) -> dict[int, float]:
    """Seconds of the intervals in each local hour of the day (0-23). A working interval lies
    within a day, away from the night's DST change: its start's UTC offset holds throughout."""
    out: dict[int, float] = defaultdict(float)
    for start, end in intervals:
        offset = start.astimezone(zone).utcoffset() or timedelta()
        moment = int((start + offset).timestamp())  # local wall-clock seconds
        stop = moment + int((end - start).total_seconds())
        while moment < stop:
            step = min(stop, (moment // HOUR + 1) * HOUR)
            out[(moment // HOUR) % 24] += step - moment
            moment = step
    return dict(out)
