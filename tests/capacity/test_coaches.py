"""A coach's account linked to their coach unit, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.capacity import coaches
from paddock.errors import Conflict, Invalid, NotFound
from tests.factories import make_world


def user(session: Session, email: str, role: str) -> None:
    accounts.create_user(session, email=email, role=role, password="a long enough password 1")


def test_a_coach_account_is_linked_to_one_coach_unit(session: Session) -> None:
    world = make_world(session, coaches=2)
    first, second = world.units["coach"]
    user(session, "ava@example.com", "coach")
    user(session, "ben@example.com", "coach")
    user(session, "ops@example.com", "operations")
    ava = accounts.get_user_by_email(session, email="ava@example.com")
    assert coaches.coach_unit(session, user_id=ava.id) is None
    assert (
        coaches.link_coach(session, email="Ava@Example.com", unit_id=first.id, actor="t") == first
    )
    assert coaches.coach_unit(session, user_id=ava.id) == first
    # Linked again elsewhere, the first link goes.
    coaches.link_coach(session, email="ava@example.com", unit_id=second.id, actor="t")
    assert coaches.coach_unit(session, user_id=ava.id) == second
    with pytest.raises(Conflict, match="already linked"):
        coaches.link_coach(session, email="ben@example.com", unit_id=second.id, actor="t")
    with pytest.raises(Invalid, match="only coaches"):
        coaches.link_coach(session, email="ops@example.com", unit_id=first.id, actor="t")
    with pytest.raises(Invalid, match="not a coach"):
        coaches.link_coach(
            session, email="ben@example.com", unit_id=world.units["car"][0].id, actor="t"
        )
    with pytest.raises(NotFound):
        coaches.link_coach(session, email="nobody@example.com", unit_id=first.id, actor="t")
    assert coaches.coach_unit(session, user_id=ava.id) == second
