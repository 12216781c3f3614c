"""What can go wrong with an invitation, in the guest's words; mapped once to problem+json."""

from __future__ import annotations

from paddock.errors import Conflict, DomainError, Invalid, NotFound, SoldOut, TooManyRequests


class InvitationNotFound(NotFound):
    """Unknown or mistyped code; forged codes land here too (no hint whether it is close)."""

    code = "invitation-not-found"
    title = "Invitation code not found"


class TooManyCodeGuesses(TooManyRequests):
    """Too many unknown codes from one address: it waits `retry_after` seconds."""

    code = "too-many-code-guesses"
    title = "Too many unknown invitation codes"


class InvitationExpired(DomainError):
    """Past its expiry, withdrawn by the dealer, or its campaign is closed."""

    status = 410
    code = "invitation-expired"
    title = "Invitation expired"


class InvitationUsedUp(Conflict):
    code = "invitation-used-up"
    title = "Invitation already used"


class InvitationNotValidForProduct(Invalid):
    code = "invitation-wrong-product"
    title = "Invitation not valid for this experience"


class InvitationNotValidForDate(Invalid):
    code = "invitation-wrong-date"
    title = "Invitation not valid on this date"


class AllotmentExhausted(SoldOut):
    """The dealer's test-drive places for that month are all taken."""

    code = "allotment-exhausted"
    title = "No dealer places left this month"
