"""Domain errors: each says what went wrong in the user's words and maps once to HTTP and CLI."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid-request"
    title = "Invalid request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Invalid(DomainError):
    status = 422
    code = "invalid"
    title = "Invalid input"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Sign-in required"


class TooManyRequests(DomainError):
    """A throttle: this client must wait `retry_after` seconds (sent as Retry-After)."""

    status = 429
    code = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)


class SoldOut(DomainError):
    """The capacity is not there: retrying will not help (unless something is released)."""

    status = 409
    code = "sold-out"
    title = "Sold out"


class Busy(DomainError):
    """Another writer held the lock too long: the same request may well succeed on retry."""

    status = 503
    code = "busy"
    title = "Busy, retry"


class Unavailable(DomainError):
    """A service the request needs (the database) cannot be reached: retry later."""

    status = 503
    code = "unavailable"
    title = "Service unavailable"


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = "Not possible in the booking's current state"


class HoldExpired(DomainError):
    status = 410
    code = "hold-expired"
    title = "Hold expired"
