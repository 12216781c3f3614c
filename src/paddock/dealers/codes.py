"""The text of invitation codes: how a typed code is normalised, how a code is generated, and
the guest page a code's link leads to. Pure functions, shared by campaigns, invitations and
reports.

A code is shown as it was made (`normalize_code`: upper case, no spaces, dashes kept) and is
looked up by its key (`code_key`): only its letters and digits, upper case, with the
look-alikes the generated alphabet leaves out read as one (O as 0; I and L as 1, as in
Crockford's base 32). "cn8t dmuh 94yp", "CN8T-DMUH-94YP" and "cn8tdmuh94yp" are one code;
so are "SPRING-2O26" and "spring 2026", which is why two codes with one key cannot both
exist (the key is unique)."""

from __future__ import annotations

import re
import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")
INVITATION_PATH = "/invite/"  # the guest page of a personal link: INVITATION_PATH + code
# Characters read alike, as the one the key keeps.
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_NOT_KEY = re.compile(r"[^A-Z0-9]")
_NOT_SHOWN = re.compile(r"[^A-Z0-9-]")

# Codes ------------------------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """A code as stored and shown (and in links): upper case, letters, digits and dashes only
    (spaces and stray punctuation dropped)."""
    return _NOT_SHOWN.sub("", text.upper())


def code_key(text: str) -> str:
    """What every typing of a code comes to, for looking it up and for near-duplicates: upper
    case, letters and digits only (no spaces, dashes, dots), look-alikes as one."""
    return _NOT_KEY.sub("", text.upper()).translate(LOOK_ALIKES)


def new_code() -> str:
    """A personal or generated code: 12 random characters (60 bits), in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def invitation_path(code: str) -> str:
    return INVITATION_PATH + code
