"""The booking as an iCalendar file (the guest page serves it, the mails attach it): the event
in the site's time zone (with its VTIMEZONE), the site as location, the booking reference as
UID so a re-download updates the same event."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event

from paddock.bookings.models import BookingStatus

PRODID = "-//Paddock//Experience centre bookings//EN"


def booking_calendar(
    *,
    ref: str,
    status: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    time_zone: str,
    location: str,
    arrive_early_minutes: int,
    manage_url: str,
    stamp: datetime,
    sequence: int,
) -> bytes:
    zone = ZoneInfo(time_zone)
    local_start = starts_at.astimezone(zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    event = Event()
    event.add("uid", ref)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", local_start)
    event.add("dtend", ends_at.astimezone(zone))
    event.add("summary", f"{title} ({ref})")
    event.add("location", location)
    cancelled = status == BookingStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    arrive = (local_start - timedelta(minutes=arrive_early_minutes)).strftime("%H:%M")
    event.add(
        "description",
        f"Booking {ref}. Please arrive {arrive_early_minutes} minutes early (by {arrive}) for "
        f"check-in and the briefing; show the check-in code from your confirmation.\n"
        f"Change or cancel: {manage_url}",
    )
    event.add("url", manage_url)
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{title} tomorrow: arrive by {arrive}")
        alarm.add("trigger", timedelta(days=-1))
        event.add_component(alarm)
    calendar.add_component(event)
    year = local_start.date()
    calendar.add_missing_timezones(
        first_date=year.replace(month=1, day=1), last_date=year.replace(year=year.year + 1)
    )
    return bytes(calendar.to_ical())
