"""Accounts an administrator opens or resets from the admin pages: a temporary password made
here, shown once to the administrator to hand over (no mail is sent from here), every session
of the user ended. The user changes it after signing in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from paddock.accounts.models import User
from paddock.accounts.service import create_user, get_user, reset_password

TEMPORARY_BYTES = 12  # 16 URL-safe characters: above the minimum length, easy to read out


@dataclass(frozen=True)
class WithPassword:
    user: User
    password: str  # shown once; only its hash is kept


def new_password() -> str:
    return secrets.token_urlsafe(TEMPORARY_BYTES)


def open_account(
    session: Session,
    *,
    email: str,
    role: str,
    name: str = "",
    dealer_code: str | None = None,
    actor: str,
) -> WithPassword:
    """A new user with a temporary password."""
    password = new_password()
    user = create_user(
        session,
        email=email,
        role=role,
        password=password,
        name=name,
        dealer_code=dealer_code or None,
        actor=actor,
    )
    return WithPassword(user, password)


def reset_to_temporary(session: Session, *, user_id: int, actor: str) -> WithPassword:
    """A new temporary password for a user; their sessions end, failed sign-ins are forgotten."""
    email = get_user(session, user_id=user_id).email
    password = new_password()
    reset_password(session, email=email, new=password, actor=actor)
    return WithPassword(get_user(session, user_id=user_id), password)
