"""Guest pages: choose an experience, a day and a time (held while the guest types), confirm,
then manage through the private link /b/<token>: calendar file, check-in code, move, cancel.

One router for the app over the modules by use case: `booking_flow` (choose, hold, confirm),
`manage_pages` (the private link), `invitation_pages` (a dealer's invitation); what they share
is in `shared`."""

from __future__ import annotations

from fastapi import APIRouter

from paddock.web.guest import booking_flow, invitation_pages, manage_pages
from paddock.web.guest.booking_flow import DetailsForm
from paddock.web.guest.manage_pages import check_in_url
from paddock.web.guest.shared import HOLD_GUEST, Booked, Picker, guest_message

__all__ = [
    "HOLD_GUEST",
    "Booked",
    "DetailsForm",
    "Picker",
    "check_in_url",
    "guest_message",
    "router",
]

router = APIRouter()
router.include_router(booking_flow.router)
router.include_router(manage_pages.router)
router.include_router(invitation_pages.router)
