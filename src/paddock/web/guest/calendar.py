"""The month calendar of free slots: pure arithmetic on availability slots, no database."""

from __future__ import annotations

import calendar as stdcal
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from paddock.capacity.engine import Slot
from paddock.capacity.wording import guest_reason

# How far ahead a guest may look.
MONTHS_AHEAD = 12


@dataclass(frozen=True)
class SlotView:
    starts_at: datetime
    local: datetime
    remaining: int
    reason: str  # why a full slot is full, in the guest's words

    @property
    def free(self) -> bool:
        return self.remaining > 0

    @property
    def value(self) -> str:
        """The instant posted back by the form (UTC ISO)."""
        return self.starts_at.isoformat()


@dataclass(frozen=True)
class Day:
    day: date
    in_month: bool
    status: str  # open | full | closed | past
    reason: str
    free_slots: int
    slots: tuple[SlotView, ...]

    @property
    def selectable(self) -> bool:
        return self.in_month and self.status == "open"

    @property
    def label(self) -> str:
        """What a screen reader says for the day button."""
        base = self.day.strftime("%A %-d %B")
        if self.status == "open":
            plural = "s" if self.free_slots != 1 else ""
            return f"{base}: {self.free_slots} free time{plural}"
        return f"{base}: {self.reason}"


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day]]
    previous: date | None
    next: date | None

    @property
    def title(self) -> str:
        return self.first.strftime("%B %Y")

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")

    def find(self, day: date | None) -> Day | None:
        for week in self.weeks:
            for cell in week:
                if cell.in_month and cell.day == day:
                    return cell
        return None


def parse_month(text: str | None, today: date) -> date:
    """`2026-12` -> 1 Dec 2026, clamped to [this month, MONTHS_AHEAD ahead]."""
    first_now = today.replace(day=1)
    if not text:
        return first_now
    try:
        year, month = (int(part) for part in text.split("-", 1))
        wanted = date(year, month, 1)
    except ValueError:
        return first_now
    return min(max(wanted, first_now), add_months(first_now, MONTHS_AHEAD))


def add_months(first: date, count: int) -> date:
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(first: date) -> tuple[date, date]:
    last = date(first.year, first.month, stdcal.monthrange(first.year, first.month)[1])
    return first, last


def shortfall_reason(slot: Slot) -> str:
    short = slot.shortfall
    return guest_reason(short.public_name) if short is not None else guest_reason("")


def build_month(
    first: date,
    slots: Sequence[Slot],
    zone: ZoneInfo,
    today: date,
    *,
    window: tuple[date, date] | None = None,
) -> Month:
    """Weeks from Monday, each day with its free start times or why there are none; days
    outside `window` (an invitation's dates) say so."""
    by_day: dict[date, list[SlotView]] = defaultdict(list)
    for slot in slots:
        local = slot.starts_at.astimezone(zone)
        reason = "" if slot.remaining > 0 else shortfall_reason(slot)
        by_day[local.date()].append(SlotView(slot.starts_at, local, slot.remaining, reason))
    start, last = month_bounds(first)
    grid_start = start - timedelta(days=start.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    weeks: list[list[Day]] = []
    day = grid_start
    while day <= grid_end:
        week: list[Day] = []
        for _ in range(7):
            cell = _day(day, start <= day <= last, by_day.get(day, []), today)
            if window and cell.status != "past" and not window[0] <= day <= window[1]:
                cell = Day(day, cell.in_month, "closed", "Not in your invitation's dates", 0, ())
            week.append(cell)
            day += timedelta(days=1)
        weeks.append(week)
    first_now = today.replace(day=1)
    previous = add_months(first, -1) if first > first_now else None
    following = add_months(first, 1)
    return Month(
        first,
        weeks,
        previous,
        following if following <= add_months(first_now, MONTHS_AHEAD) else None,
    )


def _day(day: date, in_month: bool, slots: list[SlotView], today: date) -> Day:
    free = [s for s in slots if s.free]
    if day < today:
        return Day(day, in_month, "past", "In the past", 0, ())
    if free:
        return Day(day, in_month, "open", "", len(free), tuple(slots))
    if not slots:
        reason = "No more start times today" if day == today else "Closed"
        return Day(day, in_month, "closed", reason, 0, ())
    reasons = Counter(s.reason for s in slots)
    return Day(day, in_month, "full", reasons.most_common(1)[0][0], 0, tuple(slots))
