"""Objects built from other objects' attributes of the same names. A schema or a dataclass
whose fields carry the names of its source's attributes (an ORM row, an engine dataclass) is
filled from them, and only what differs is written out: `TeamRead.of(row)`,
`ResourceRead.of(pool, unit_labels=labels)`, `filled(TeamEntry, row, team_code=code)`."""

from __future__ import annotations

import dataclasses
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


def filled(cls: type[T], source: object, **values: Any) -> T:
    """`cls` (a pydantic model or a dataclass) with every field from `source`'s attribute of
    that name, but those given in `values` (a field `source` lacks and `values` does not give
    keeps its default, or is missing)."""
    if issubclass(cls, BaseModel):
        names: list[str] = list(cls.model_fields)
    else:
        names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    taken = {n: getattr(source, n) for n in names if n not in values and hasattr(source, n)}
    return cls(**taken, **values)


class Answer(BaseModel):
    """A schema filled from the attributes of the same names (see the module's docstring);
    a field that is itself an Answer (or a list of them) is filled from an object likewise."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: object, **values: Any) -> Self:
        """Every field from `source`'s attribute of that name, but those given in `values`."""
        return filled(cls, source, **values)
