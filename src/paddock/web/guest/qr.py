"""The check-in code: a QR code of a signed check-in URL that operations staff scan (a phone
camera opens it, a handheld scanner types it into the search box)."""

from __future__ import annotations

import io

import segno
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "paddock.web.check-in"


def check_in_token(secret: str, ref: str) -> str:
    return str(URLSafeSerializer(secret, salt=SALT).dumps(ref))


def ref_from_token(secret: str, token: str) -> str | None:
    """The booking reference in a check-in token, or None when it is not one of ours."""
    try:
        value = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def qr_svg(content: str, *, title: str = "Check-in code") -> bytes:
    code = segno.make(content, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=6, border=2, dark="#111", xmldecl=True, title=title)
    return buffer.getvalue()
