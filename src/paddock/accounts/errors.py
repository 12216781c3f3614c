"""Sign-in errors, in the user's words; each maps once to HTTP (problem+json) and the CLI."""

from __future__ import annotations

from paddock.errors import TooManyRequests, Unauthorized


class BadCredentials(Unauthorized):
    code = "bad-credentials"
    title = "Wrong e-mail or password"


class TooManyAttempts(TooManyRequests):
    """Repeated failures: the address (for one e-mail, or for any) must wait before trying
    again; `retry_after` seconds."""

    code = "too-many-attempts"
    title = "Too many sign-in attempts"
