"""A site's settings an administrator changes: its year one (the opening day and the site's own
targets, read by `analytics.scope`) and its weekly opening hours (what every unit without
shifts works). Closures are blocks (`capacity.blocks.close_site`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.audit import service as audit
from paddock.capacity import units
from paddock.capacity.fleet import get_site
from paddock.capacity.models import Site, SiteHours, SiteKind
from paddock.errors import Invalid
from paddock.unit_of_work import write_transaction

MAX_DRIVERS_TARGET = 10_000_000
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A weekday's hours: (opens, closes), closing at 00:00 meaning midnight; None: closed.
DayHours = tuple[time, time] | None


@dataclass(frozen=True)
class YearOne:
    opens_on: date | None
    drivers_target: int | None
    dealer_share_percent: Decimal | None  # 15 means 15 %


def all_sites(session: Session) -> Sequence[Site]:
    """Every site, experience centres and the motorsport support site."""
    return session.scalars(select(Site).order_by(Site.id)).all()


def parse_percent(text: str) -> Decimal | None:
    """A share typed as a percentage ('15', '12.5', '15 %'); empty: none."""
    text = text.strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise Invalid(f"'{text}' is not a percentage.") from exc
    if not value.is_finite() or not 0 <= value <= 100:
        raise Invalid("The share via dealers is a percentage from 0 to 100.")
    return value


def set_year_one(session: Session, *, site_code: str, settings: YearOne, actor: str) -> Site:
    """The site's opening day (year one starts on it) and its own year-one targets; None
    leaves a value unset (calendar years, the brief's targets)."""
    target = settings.drivers_target
    if target is not None and not 0 < target <= MAX_DRIVERS_TARGET:
        raise Invalid(f"The drivers target is a whole number from 1 to {MAX_DRIVERS_TARGET:,}.")
    share_bp = None
    if settings.dealer_share_percent is not None:
        bp = settings.dealer_share_percent * 100
        if bp != bp.to_integral_value() or not 0 <= bp <= 10_000:
            raise Invalid("Give the share via dealers in hundredths of a percent at most.")
        share_bp = int(bp)
    with write_transaction(session):
        site = get_site(session, code=site_code)
        if site.kind != SiteKind.EXPERIENCE:
            raise Invalid(f"Site {site.code} is not an experience centre: it has no year one.")
        site.opens_on = settings.opens_on
        site.drivers_target = target
        site.dealer_share_target_bp = share_bp
        audit.record(
            session,
            actor=actor,
            subject_kind="site",
            subject_id=site.id,
            action="year-one-set",
            opens_on=settings.opens_on.isoformat() if settings.opens_on else None,
            drivers_target=target,
            dealer_share_target_bp=share_bp,
        )
    return site


def set_hours(
    session: Session, *, site_code: str, hours: Mapping[int, DayHours], actor: str
) -> Site:
    """Replace the site's weekly opening hours (every weekday given: its hours or closed).
    Bookings already made stand; new slots follow the new hours."""
    if set(hours) != set(range(7)):
        raise Invalid("Give the hours of every weekday, Monday to Sunday (or closed).")
    for weekday, day in hours.items():
        if day is not None and day[1] != time(0) and day[1] <= day[0]:
            raise Invalid(f"{WEEKDAYS[weekday]}: closing must come after opening.")
    with write_transaction(session):
        site = get_site(session, code=site_code)
        site.hours = [
            SiteHours(weekday=weekday, opens_at=day[0], closes_at=day[1])
            for weekday, day in sorted(hours.items())
            if day is not None
        ]
        audit.record(
            session,
            actor=actor,
            subject_kind="site",
            subject_id=site.id,
            action="hours-set",
            hours={
                WEEKDAYS[w]: f"{d[0]:%H:%M}-{d[1]:%H:%M}" if d else "closed"
                for w, d in sorted(hours.items())
            },
        )
    units.invalidate_cache()  # this process at once; the others within their few seconds
    return site
