"""The few SQL expressions that differ between PostgreSQL and SQLite, for the KPI queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Date, Float, cast, func, literal
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from paddock.db import UTCDateTime

Expr = ColumnElement[Any] | InstrumentedAttribute[Any]


def instant(value: datetime) -> ColumnElement[Any]:
    """A bound instant stored the way the columns are (naive UTC text on SQLite)."""
    return literal(value, UTCDateTime())


def least(dialect: str, a: Expr, b: Expr) -> ColumnElement[Any]:
    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


def greatest(dialect: str, a: Expr, b: Expr) -> ColumnElement[Any]:
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


def seconds_between(dialect: str, start: Expr, end: Expr) -> ColumnElement[float]:
    if dialect == "postgresql":
        return func.extract("epoch", end - start).cast(Float)
    return ((func.julianday(end) - func.julianday(start)) * 86400.0).cast(Float)


def utc_date(dialect: str, moment: Expr) -> ColumnElement[Any]:
    """The UTC calendar day of an instant, typed like the rollup's `day` columns."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", moment), Date)
    return func.date(moment)
