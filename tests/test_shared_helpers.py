"""The helpers the domains share instead of writing the same lines again: ending reads
(`unit_of_work.end_read`, `read_only`), keyset pages (`keyset.keyset_page`) and the mapping of
domain objects to JSON schemas (`mapping.to_schema`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import Integer, create_engine, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from paddock.keyset import PAGE_MAX, every_page, keyset_page
from paddock.mapping import to_schema
from paddock.throttle import throttle_counter
from paddock.unit_of_work import end_read, read_only

_t = throttle_counter.c


def _add(session: Session, bucket: str) -> None:
    session.execute(
        insert(throttle_counter).values(bucket=bucket, window_start=0, expires_at=0, hits=0)
    )


def test_read_only_rolls_back_what_the_block_did_however_it_ends(session: Session) -> None:
    with read_only(session):
        _add(session, "dry-run")
        assert session.scalar(select(_t.hits).where(_t.bucket == "dry-run")) == 0
    assert not session.in_transaction()
    with pytest.raises(RuntimeError), read_only(session):
        _add(session, "failed")
        raise RuntimeError("refused")
    assert not session.in_transaction()
    assert (
        session.scalars(select(_t.bucket).where(_t.bucket.in_(["dry-run", "failed"]))).all() == []
    )


def test_end_read_ends_the_transaction_and_is_harmless_without_one(session: Session) -> None:
    session.scalar(select(_t.hits))
    assert session.in_transaction()
    end_read(session)
    assert not session.in_transaction()
    end_read(session)
    assert not session.in_transaction()


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "row"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


@pytest.fixture
def rows() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(insert(_Row), [{"id": i} for i in range(1, PAGE_MAX + 11)])
        yield session
    engine.dispose()


def _ids(session: Session, **page: Any) -> list[int]:
    return list(session.scalars(keyset_page(select(_Row.id), _Row.id, **page)))


def test_keyset_pages_follow_the_key_either_way(rows: Session) -> None:
    assert _ids(rows, limit=3) == [1, 2, 3]
    assert _ids(rows, after=3, limit=3) == [4, 5, 6]
    assert _ids(rows, newest_first=True, limit=2) == [PAGE_MAX + 10, PAGE_MAX + 9]
    assert _ids(rows, after=5, newest_first=True, limit=10) == [4, 3, 2, 1]


def test_a_keyset_page_has_one_to_page_max_rows(rows: Session) -> None:
    assert len(_ids(rows, limit=0)) == 1
    assert len(_ids(rows, limit=10_000)) == PAGE_MAX
    assert len(_ids(rows)) == PAGE_MAX + 10  # no limit: every row, in key order


def test_every_page_reads_page_after_page_up_to_most(rows: Session) -> None:
    def fetch(after: int | None) -> list[int]:
        return _ids(rows, after=after, limit=PAGE_MAX)

    assert every_page(fetch, lambda key: key) == list(range(1, PAGE_MAX + 11))
    assert every_page(fetch, lambda key: key, most=PAGE_MAX) == list(range(1, PAGE_MAX + 1))


class _Read(BaseModel):
    id: int
    name: str
    dealer: str | None


@dataclass
class _Thing:
    id: int
    name: str
    dealer_id: int
    secret: str = "never copied"


def test_to_schema_copies_same_named_attributes_and_takes_the_rest_as_given() -> None:
    read = to_schema(_Read, _Thing(7, "Ada", 3), dealer="ATL01")
    assert read.model_dump() == {"id": 7, "name": "Ada", "dealer": "ATL01"}
    # What is given wins over an attribute of the same name.
    assert to_schema(_Read, _Thing(7, "Ada", 3), name="B", dealer=None).name == "B"


def test_to_schema_refuses_a_field_nobody_gives() -> None:
    with pytest.raises(ValidationError, match="dealer"):
        to_schema(_Read, _Thing(7, "Ada", 3))
