"""Domain objects to the JSON schemas at the edge, without writing each field out twice.

`to_schema(UserRead, user, dealer=code)`: every field of the schema is taken from the
attribute of the same name on the domain object (an ORM row, a dataclass), except those given
by keyword, which the edge computes (a dealer's code for its id, a link, a count). A schema
field the object lacks and no keyword gives fails validation, as a missing argument would.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["to_schema"]

S = TypeVar("S", bound=BaseModel)


def to_schema(schema: type[S], source: object, **given: Any) -> S:
    values = {
        name: getattr(source, name)
        for name in schema.model_fields
        if name not in given and hasattr(source, name)
    }
    return schema(**values, **given)
