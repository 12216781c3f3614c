"""Pure checks, in words: what is wrong with one invitee (from a form or a CSV row), and what
makes a shared code a dealer chose easy to guess."""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

PHONE = re.compile(r"^[0-9+() .\-]{0,40}$")
YES = {"yes", "y", "true", "1", "x", "oui"}
NO = {"no", "n", "false", "0", ""}
MAX_NOTE = 2000

# A code a dealer chooses (generated ones are 12 random characters): at least this many
# letters and digits, two of each at least, and not just common words with a number.
MIN_CODE_CHARACTERS = 8
MIN_CODE_DIGITS = 2
# Words (and model names) a guesser tries first, with any number: SPRING-2026, PORSCHE-911,
# VIPGT3... Letters made only of these make a code easy to guess.
# fmt: off
COMMON_CODE_WORDS = frozenset({
    "SPRING", "SUMMER", "AUTUMN", "FALL", "WINTER", "EASTER", "XMAS", "CHRISTMAS", "HOLIDAY",
    "HOLIDAYS", "NEW", "YEAR", "BLACK", "FRIDAY", "CYBER", "MONDAY", "WEEKEND", "WELCOME",
    "HELLO", "THANKS", "THANK", "YOU", "DRIVE", "DRIVES", "TEST", "TESTDRIVE", "DEMO", "VIP",
    "GUEST", "GUESTS", "FRIEND", "FRIENDS", "FAMILY", "CLIENT", "CLIENTS", "OWNER", "OWNERS",
    "CLUB", "MEMBER", "MEMBERS", "LOYAL", "LOYALTY", "INVITE", "INVITED", "INVITATION",
    "EVENT", "EVENING", "DAY", "DAYS", "NIGHT", "PROMO", "OFFER", "SALE", "SPECIAL", "FREE",
    "EXCLUSIVE", "PREMIUM", "GOLD", "SILVER", "PLATINUM", "OPEN", "DOOR", "LAUNCH", "CODE",
    "PASSWORD", "SECRET", "ACCESS", "TRACK", "RACE", "RACING", "SPEED", "CIRCUIT", "LAP",
    "EXPERIENCE", "CENTER", "CENTRE", "PADDOCK", "DEALER", "PORSCHE", "CARRERA", "TURBO",
    "TARGA", "CAYMAN", "BOXSTER", "CAYENNE", "MACAN", "PANAMERA", "TAYCAN", "SPYDER", "GT",
    "GTS", "RS", "S", "T", "E", "HYBRID", "ELECTRIC", "CONQUEST", "ONE", "TWO", "TEN",
    "ATLANTA", "LOS", "ANGELES",
})
# fmt: on


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


def code_weaknesses(code: str, *, dealer_code: str = "") -> list[str]:
    """What makes a chosen code easy to guess (nothing: a good code). `code` as stored:
    upper case, no spaces; dashes do not count, nor does the dealer's own code in it (every
    invitation shows the dealer, so D-ATL-001's ATL001-SPRING is as weak as SPRING)."""
    chars = "".join(c for c in code if c.isalnum())
    reasons = []
    for part in _dealer_parts(dealer_code):
        if part in chars:
            chars = chars.replace(part, "")
            note = (
                f"the dealer code {dealer_code} in it is no secret (every invitation shows it), "
                f"so what counts is {chars or 'nothing'}"
            )
            break
    else:
        note = ""
    digits = sum(c.isdigit() for c in chars)
    letters = "".join(c for c in chars if c.isalpha())
    if len(chars) < MIN_CODE_CHARACTERS:
        reasons.append(f"it has {len(chars)} letters and digits (at least {MIN_CODE_CHARACTERS})")
    if digits < MIN_CODE_DIGITS or len(letters) < MIN_CODE_DIGITS:
        reasons.append("it needs at least two digits and two letters mixed in")
    if letters and _only_common_words(letters):
        reasons.append(f"its letters are only common words ({letters}) that guessers try first")
    elif len(set(chars)) <= 2:
        reasons.append("it repeats one or two characters")
    return [note, *reasons] if reasons and note else reasons


def _dealer_parts(dealer_code: str) -> list[str]:
    """D-ATL-001 as it may appear in a code: DATL001, ATL001."""
    whole = "".join(c for c in dealer_code.upper() if c.isalnum())
    return [p for p in (whole, whole.removeprefix("D")) if len(p) >= 4]


def _only_common_words(letters: str) -> bool:
    """The letters split wholly into common words (SPRINGGT: SPRING GT)."""
    ends = [True] + [False] * len(letters)  # ends[i]: letters[:i] splits wholly
    for i in range(1, len(letters) + 1):
        ends[i] = any(
            ends[j] and letters[j:i] in COMMON_CODE_WORDS for j in range(max(0, i - 12), i)
        )
    return ends[-1]
