"""Pure checks of one invitee (from a form or a CSV row): what is wrong with it, in words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

PHONE = re.compile(r"^[0-9+() .\-]{0,40}$")
YES = {"yes", "y", "true", "1", "x", "oui"}
NO = {"no", "n", "false", "0", ""}
MAX_NOTE = 2000


@dataclass(frozen=True)
class InviteeIn:
    name: str
    email: str
    phone: str = ""
    consent: str | bool = False
    product: str = ""
    note: str = ""


@dataclass(frozen=True)
class CleanInvitee:
    name: str
    email: str
    email_key: str
    phone: str
    consent_marketing: bool
    product_code: str
    note: str


def check(row: InviteeIn, *, products: set[str]) -> tuple[CleanInvitee | None, list[str]]:
    """The cleaned invitee, or None with every reason it cannot be taken."""
    reasons: list[str] = []
    name = " ".join(row.name.split())
    if not name:
        reasons.append("name is missing")
    elif not any(ch.isalpha() for ch in name):
        reasons.append(f"name '{name}' has no letters")
    elif len(name) > 200:
        reasons.append("name is longer than 200 characters")
    email = row.email.strip()
    email_key = ""
    if not email:
        reasons.append("e-mail is missing")
    else:
        try:
            email = validate_email(email, check_deliverability=False).normalized
            email_key = email.lower()
        except EmailNotValidError as exc:
            reasons.append(f"e-mail '{email}' is not valid ({exc})")
    phone = row.phone.strip()
    if not PHONE.match(phone):
        reasons.append(f"phone '{phone}' has characters a phone number does not")
    if isinstance(row.consent, bool):
        consent = row.consent
    else:
        word = row.consent.strip().lower()
        consent = word in YES
        if word not in YES | NO:
            reasons.append(f"consent '{row.consent}' is not yes or no")
    product = row.product.strip()
    if product and product not in products:
        reasons.append(f"product '{product}' is not part of this campaign")
    note = row.note.strip()
    if len(note) > MAX_NOTE:
        reasons.append(f"note is longer than {MAX_NOTE} characters")
    if reasons:
        return None, reasons
    return CleanInvitee(name, email, email_key, phone, consent, product, note), []
