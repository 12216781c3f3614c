"""E-mail addresses in request bodies: validated and normalised by email-validator, as
pydantic's EmailStr does, with each domain's check done once per process.

The domain check (IDNA rules, character by character) is most of the cost, and a booking
endpoint sees the same few domains again and again. A plain local part (a dot-atom, the form
nearly every address has) is checked here; anything else goes through email-validator whole.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
MAX_LENGTH = 254  # RFC 5321's limit on a forward path, as email-validator enforces
MAX_LOCAL = 64


def normalize_email(value: str) -> str:
    """The address as email-validator normalises it, or a pydantic error saying why not."""
    local, at, domain = value.rpartition("@")
    try:
        if (
            at
            and len(value) <= MAX_LENGTH
            and len(local) <= MAX_LOCAL
            and _DOT_ATOM.fullmatch(local)
        ):
            return f"{local}@{_domain(domain)}"
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "value_error", "value is not a valid email address: {reason}", {"reason": str(exc)}
        ) from exc


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    return str(validate_email(f"postmaster@{domain}", check_deliverability=False).domain)


EmailAddress = Annotated[
    str, AfterValidator(normalize_email), WithJsonSchema({"type": "string", "format": "email"})
]
