"""Coaches as people: the user account a coach signs in with, linked to the coach unit they
are, so the console can show a coach their own day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from paddock.accounts.models import Role, User
from paddock.audit import service as audit
from paddock.capacity.fleet import get_unit
from paddock.capacity.models import CoachAccount, Unit
from paddock.db import utcnow
from paddock.errors import Conflict, Invalid, NotFound
from paddock.unit_of_work import write_transaction


def link_coach(
    session: Session, *, email: str, unit_id: int, actor: str, now: datetime | None = None
) -> Unit:
    """Say which coach unit a coach's account is (replacing any earlier link of either)."""
    now = now or utcnow()
    with write_transaction(session):
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"No user '{email}'.")
        if user.role != Role.COACH:
            raise Invalid(f"{user.email} is a {user.role} account; only coaches have a day.")
        unit = get_unit(session, unit_id=unit_id)
        if unit.kind != "coach":
            raise Invalid(f"{unit.label} is not a coach.")
        taken = session.scalar(select(CoachAccount).where(CoachAccount.unit_id == unit.id))
        if taken is not None and taken.user_id != user.id:
            raise Conflict(f"{unit.label} is already linked to another account.")
        session.execute(delete(CoachAccount).where(CoachAccount.user_id == user.id))
        session.add(CoachAccount(user_id=user.id, unit_id=unit.id))
        audit.record(
            session,
            actor=actor,
            subject_kind="unit",
            subject_id=unit.id,
            action="coach_linked",
            at=now,
            user=user.email,
        )
    return unit


def coach_unit(session: Session, *, user_id: int) -> Unit | None:
    """The coach unit this user is, if any."""
    return session.scalar(
        select(Unit)
        .join(CoachAccount, CoachAccount.unit_id == Unit.id)
        .where(CoachAccount.user_id == user_id)
    )
