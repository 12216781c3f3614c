"""The text of invitation codes: how a typed code is normalised, how a code is generated, and
the guest page a code's link leads to. Pure functions, shared by campaigns, invitations and
reports."""

from __future__ import annotations

import re
import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")
INVITATION_PATH = "/invite/"  # the guest page of a personal link: INVITATION_PATH + code

# Codes ------------------------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """What a guest typed, as stored: no whitespace anywhere, upper case."""
    return "".join(text.split()).upper()


def new_code() -> str:
    """A personal or generated code: 12 random characters (60 bits), in groups of four."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def invitation_path(code: str) -> str:
    return INVITATION_PATH + code
