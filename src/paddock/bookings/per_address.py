"""Public bookings per client address: PADDOCK_BOOKINGS_PER_ADDRESS_PER_MINUTE (0: no limit)
for `POST /api/v1/bookings`, `POST /api/v1/invitations/{code}/bookings` and the guest pages'
holds, all from one count.

The booking route is the hot path (a booking costs ~1 ms; this guard must cost < 5 % of it),
so nothing here touches the database: each process counts in memory and merges with the
shared throttle table once a second (throttle.LocalTally, which says how far the count can
be off: at most one second of other processes' bookings).
"""

from __future__ import annotations

from starlette.requests import Request

from paddock.clients import address_key, client_address
from paddock.errors import TooManyRequests
from paddock.settings import Settings
from paddock.throttle import LocalTally

WINDOW = 60


def booking_tally(settings: Settings) -> LocalTally:
    """The app's count (app.state.booking_tally; its lifespan flushes it once a second)."""
    return LocalTally("book", settings.bookings_per_address_per_minute, WINDOW)


def admit(request: Request) -> None:
    """Count a booking request from the caller's address, or refuse it (429, Retry-After)."""
    tally: LocalTally | None = getattr(request.app.state, "booking_tally", None)
    if tally is None or not tally.enabled:
        return
    wait = tally.admit(address_key(client_address(request)))
    if wait:
        raise TooManyRequests(
            f"Too many bookings from your address: at most {tally.limit} a minute. Please "
            f"try again in {wait} seconds.",
            retry_after=wait,
        )
