"""Sign-in errors, in the user's words; each maps once to HTTP (problem+json) and the CLI."""

from __future__ import annotations

from paddock.errors import DomainError, Unauthorized


class BadCredentials(Unauthorized):
    code = "bad-credentials"
    title = "Wrong e-mail or password"


class TooManyAttempts(DomainError):
    """Repeated failures: the account (or the address) must wait before trying again."""

    status = 429
    code = "too-many-attempts"
    title = "Too many sign-in attempts"
