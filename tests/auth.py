"""Signing a test client in as a role, without the sign-in route (that has its own tests):
a user is created once per e-mail and a server-side session is opened for it."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts.models import User, UserSession
from paddock.accounts.principals import SESSION_COOKIE
from paddock.db import utcnow

PASSWORD = "correct horse battery staple"


def user_for(session: Session, role: str, *, dealer: str | None = None) -> str:
    """The e-mail of a user with this role (and dealer), created the first time."""
    email = f"{role}@{(dealer or 'centre').lower()}.example"
    if session.scalar(select(User.id).where(User.email == email)):
        return email
    accounts.create_user(
        session,
        email=email,
        role=role,
        password=PASSWORD,
        name=role.title(),
        dealer_code=dealer,
        password_hash=_HASH,
    )
    return email


def sign_in(client: TestClient, session: Session, role: str, *, dealer: str | None = None) -> str:
    """The client's later requests carry a session cookie of a user with this role."""
    email = user_for(session, role, dealer=dealer)
    user_id = session.scalar(select(User.id).where(User.email == email))
    token, now = secrets.token_urlsafe(32), utcnow()
    session.add(
        UserSession(
            token_hash=accounts.digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + accounts.SESSION_IDLE,
        )
    )
    session.commit()
    client.cookies.set(SESSION_COOKIE, token)
    return email


def sign_out(client: TestClient) -> None:
    client.cookies.delete(SESSION_COOKIE)


# One hash for every test user: hashing is deliberately slow.
_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
