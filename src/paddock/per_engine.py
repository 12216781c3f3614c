"""An implementation chosen once per database engine: the PostgreSQL one or the SQLite one.

The write paths that differ by database (taking units, writing a booking) are each a small
class per database behind one protocol. `PerEngine` picks one the first time an engine is
seen and remembers it, so that callers hold no `if dialect == ...` of their own."""

from __future__ import annotations

from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

T = TypeVar("T")


class PerEngine(Generic[T]):
    """`choice(session)`: `postgresql` on a PostgreSQL engine, else `sqlite`. The objects are
    shared by every engine of their kind: they hold no engine, session or connection."""

    def __init__(self, *, postgresql: T, sqlite: T) -> None:
        self.postgresql = postgresql
        self.sqlite = sqlite
        self._chosen: WeakKeyDictionary[Engine, T] = WeakKeyDictionary()

    def __call__(self, where: Session | Connection | Engine) -> T:
        bind = where.get_bind() if isinstance(where, Session) else where
        engine = bind.engine
        chosen = self._chosen.get(engine)
        if chosen is None:
            chosen = self.postgresql if engine.dialect.name == "postgresql" else self.sqlite
            self._chosen[engine] = chosen
        return chosen
