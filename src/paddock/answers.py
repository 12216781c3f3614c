"""Answers built from domain objects. A schema whose fields carry the names of its source's
attributes (an ORM row, an engine dataclass) is filled from them, and only what differs is
written out: `TeamRead.of(row)`, `ResourceRead.of(pool, unit_labels=labels)`."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """A schema filled from the attributes of the same names (see the module's docstring);
    a field that is itself an Answer (or a list of them) is filled from an object likewise."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: object, **values: Any) -> Self:
        """Every field from `source`'s attribute of that name, but those given in `values`
        (a field `source` lacks and `values` does not give keeps its default, or is missing)."""
        taken = {
            name: getattr(source, name)
            for name in cls.model_fields
            if name not in values and hasattr(source, name)
        }
        return cls(**taken, **values)
