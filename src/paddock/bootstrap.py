"""Where the domains are hooked into each other, once, for every way the code is started: the
app factory, the `paddock` command and the tests call `register_domains`.

The capacity core names the engagements that hold a unit (a booking, a motorsport entry)
through describers; the booking lifecycle asks the dealers for their places and tells them of
released bookings. A new domain with such hooks registers them here."""

from __future__ import annotations

from paddock.bookings import engagements as booking_engagements
from paddock.dealers import engagements as dealer_engagements
from paddock.motorsport import engagements as motorsport_engagements


def register_domains() -> None:
    """Register every domain's hooks. Idempotent: each hook is kept under its name, so a second
    call replaces the hooks with the same ones."""
    booking_engagements.register()
    motorsport_engagements.register()
    dealer_engagements.register()
