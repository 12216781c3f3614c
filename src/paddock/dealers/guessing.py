"""Invitation codes tried from one address, counted for every worker in the shared throttle
table: the API (`/api/v1/invitations/{code}...`) and the guest pages (`/invite/{code}...`,
a code typed on the details page) take from the same count.

Each attempt takes a slot before the code is looked up (so racing requests cannot get past
the limit), and gives it back when the code exists: only unknown codes count. Past the limit
the answer is 429 with Retry-After until the window ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.requests import Request

from paddock import throttle
from paddock.clients import address_key, client_address
from paddock.dealers.errors import InvitationNotFound, TooManyCodeGuesses

# Unknown codes one address may try per window (seconds).
CODE_GUESSES = 30
CODE_WINDOW = 300


@contextmanager
def code_guesses(request: Request) -> Iterator[None]:
    """Around a use of a code the caller typed: refuses when the address has tried too many
    unknown codes; an unknown code (InvitationNotFound) counts, anything else does not."""
    factory = request.app.state.session_factory
    key = f"code:{address_key(client_address(request))}"
    now = throttle.clock()
    wait = throttle.hit(factory, key, CODE_GUESSES, CODE_WINDOW, now=now)
    if wait:
        raise TooManyCodeGuesses(
            f"Too many unknown invitation codes from your address; try again in {wait} "
            "seconds. Check the code on your invitation: letters and digits, dashes optional.",
            retry_after=wait,
        )
    try:
        yield
    except InvitationNotFound:
        raise
    except BaseException:
        throttle.forgive(factory, key, CODE_WINDOW, now=now)
        raise
    throttle.forgive(factory, key, CODE_WINDOW, now=now)
