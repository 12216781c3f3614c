"""Keyset pagination, the one way the lists page: rows in the order of a unique key, a page
after (or, newest first, before) the last key the client saw. A page costs the same however
deep it is (no OFFSET), and rows written meanwhile neither repeat nor go missing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

__all__ = ["PAGE_MAX", "every_page", "keyset_page"]

PAGE_MAX = 500  # rows a page may have at the most, whatever the caller asks

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
R = TypeVar("R")


def keyset_page(
    query: Q,
    key: InstrumentedAttribute[int],
    *,
    after: int | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> Q:
    """`query` in `key` order from just past `after`, at most `limit` rows (1 to PAGE_MAX);
    all of them without a limit."""
    if after is not None:
        query = query.where(key < after if newest_first else key > after)
    query = query.order_by(key.desc() if newest_first else key)
    return query if limit is None else query.limit(max(1, min(limit, PAGE_MAX)))


def every_page(
    fetch: Callable[[int | None], Sequence[R]], key: Callable[[R], int], *, most: int | None = None
) -> list[R]:
    """The rows of a keyset list page after page (a download of all of them): `fetch(after)`
    gives the PAGE_MAX rows after the key `after` (fewer on the last page), `key(row)` a row's
    key. Stops after `most` rows, if given (a whole number of pages)."""
    rows: list[R] = []
    after: int | None = None
    while most is None or len(rows) < most:
        page = fetch(after)
        rows.extend(page)
        if len(page) < PAGE_MAX:
            break
        after = key(page[-1])
    return rows
