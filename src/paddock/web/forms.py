"""Reading a posted form into a Pydantic model, with messages a person can act on per field.

    values, errors, data = await read_form(request, GuestForm)
    if errors:
        return render(request, "guest/details.html", {"values": values, "errors": errors},
                      status_code=422)

`values` are the raw strings (to refill the form), `errors` maps a field name to its message,
`data` is the validated model (None when there are errors). The `field()` macro in
templates/_forms.html shows a label, the input, its hint and its error, wired for screen readers.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from paddock.web.security import CSRF_FIELD

M = TypeVar("M", bound=BaseModel)

# Pydantic's wording made friendlier where it matters.
_FRIENDLY = {
    "missing": "This field is required.",
    "string_too_short": "This is too short.",
    "string_too_long": "This is too long.",
    "string_pattern_mismatch": "This contains characters that are not allowed here.",
}


async def read_form(
    request: Request, model: type[M]
) -> tuple[dict[str, str], dict[str, str], M | None]:
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    errors: dict[str, str] = {}
    try:
        return values, errors, model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, message_of(error))
        return values, errors, None


def message_of(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    kind = str(error.get("type", ""))
    if kind in _FRIENDLY:
        return _FRIENDLY[kind]
    text = str(error.get("msg", "This value is not valid."))
    text = text.removeprefix("Value error, ").removeprefix("value is not a valid email address: ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
