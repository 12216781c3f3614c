"""Motorsport's domain errors (mapped to HTTP and the CLI by paddock.errors.DomainError)."""

from __future__ import annotations

from paddock.errors import SoldOut


class SupportCapacityExceeded(SoldOut):
    """The maker cannot provide the support a car needs: the article's rule says no."""

    code = "support-capacity-exceeded"
    title = "Support capacity exceeded"
