"""The booking's iCalendar file is made in `paddock.bookings.ics` (mail attaches it too)."""

from paddock.bookings.ics import booking_calendar

__all__ = ["booking_calendar"]
