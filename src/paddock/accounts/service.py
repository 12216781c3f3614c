"""Account use cases: users and roles, passwords (argon2id), web sessions and dealer API tokens
(sign-in and its throttles: accounts/signin.py, re-exported here). Each public function that
writes owns its transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from paddock.accounts.errors import BadCredentials
from paddock.accounts.models import ROLE_VALUES, ApiToken, Role, User, UserSession
from paddock.audit import service as audit
from paddock.db import utcnow
from paddock.errors import Conflict, Forbidden, Invalid, NotFound
from paddock.keyset import keyset_page
from paddock.unit_of_work import write_transaction

# A web session ends after this long without use, and at the latest this long after sign-in.
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)
# Writes to "last seen / last used" are throttled: one per this interval per session or token.
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 accepts more, but nobody needs it and it costs CPU
TOKEN_PREFIX = "pdk_"
# Security decisions read the row as it is now, not as a long-lived session remembers it.
FRESH = {"populate_existing": True}

# The current parameters; a stored hash made with others is upgraded at the next sign-in.
hasher = PasswordHasher()
# Verified against unknown e-mails too, so a wrong address takes as long as a wrong password;
# made with the current parameters (see _dummy_hash).
_dummy_hashes: dict[str, str] = {}

# The dealer table belongs to the dealers package, which builds on accounts; a user only needs
# to name its dealer by code, so we refer to the table by name (as the foreign key does).
_dealer = sa.table("dealer", sa.column("id"), sa.column("code"), sa.column("name"))


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a signed-in user or a dealer's API token."""

    kind: str  # "user" or "token"
    id: int  # user id or token id
    name: str  # the user's e-mail, or the token's name
    role: Role
    dealer_id: int | None
    session_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return f"user:{self.name}" if self.kind == "user" else f"token:{self.id}:{self.name}"

    @property
    def sees_every_dealer(self) -> bool:
        return self.role in (Role.ADMIN, Role.OPERATIONS)


@dataclass(frozen=True)
class Scope:
    """Whose dealer data a caller may see: one dealer, or (`dealer_id` None) every dealer.
    Dealer-scoped services take one explicitly, so forgetting it is a type error, not a leak."""

    dealer_id: int | None
    actor: str

    @classmethod
    def everything(cls, actor: str) -> Scope:
        return cls(None, actor)

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        if principal.sees_every_dealer:
            return cls(None, principal.actor)
        if principal.role == Role.DEALER and principal.dealer_id is not None:
            return cls(principal.dealer_id, principal.actor)
        raise Forbidden("Dealer data is for centre staff and the dealer's own staff.")

    def allows(self, dealer_id: int) -> bool:
        return self.dealer_id is None or self.dealer_id == dealer_id


@dataclass(frozen=True)
class SignIn:
    user: User
    token: str  # the cookie value; only its hash is stored
    expires_at: datetime


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"'{email}' is not a valid e-mail address: {exc}") from exc


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password_rules(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"A password may have at most {MAX_PASSWORD} characters.")
    if email and password.strip().lower() == email.strip().lower():
        raise Invalid("The password must not be the e-mail address.")


def dealer_id_for_code(session: Session, code: str) -> int:
    dealer_id = session.scalar(select(_dealer.c.id).where(_dealer.c.code == code.strip().upper()))
    if dealer_id is None:
        raise NotFound(f"No dealer with code '{code}'.")
    return int(dealer_id)


def dealer_codes(session: Session, dealer_ids: Iterable[int | None]) -> dict[int, str]:
    """The codes of these dealers by id (one query; no id, no query)."""
    wanted = {d for d in dealer_ids if d is not None}
    if not wanted:
        return {}
    rows = session.execute(select(_dealer.c.id, _dealer.c.code).where(_dealer.c.id.in_(wanted)))
    return {int(i): str(c) for i, c in rows}


# Users ----------------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    email: str,
    role: str,
    password: str,
    name: str = "",
    dealer_code: str | None = None,
    actor: str = "system",
    password_hash: str | None = None,
) -> User:
    """A user with a role; dealer staff name their dealer. `password_hash` lets the demo reuse
    one hash for many demo accounts (hashing is deliberately slow)."""
    if role not in ROLE_VALUES:
        raise Invalid(f"Unknown role '{role}'; one of: {', '.join(ROLE_VALUES)}.")
    email = normalize_email(email)
    if password_hash is None:
        check_password_rules(password, email)
    if role == Role.DEALER and not dealer_code:
        raise Invalid("Dealer staff belong to a dealer: give its code.")
    if role != Role.DEALER and dealer_code:
        raise Invalid(f"Only dealer staff belong to a dealer, not role '{role}'.")
    with write_transaction(session):
        dealer_id = dealer_id_for_code(session, dealer_code) if dealer_code else None
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict(f"A user with e-mail {email} already exists.")
        user = User(
            email=email,
            name=" ".join(name.split()),
            role=role,
            dealer_id=dealer_id,
            password_hash=password_hash or hash_password(password),
        )
        session.add(user)
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(f"A user with e-mail {email} already exists.") from exc
        _audit(session, actor, "user", user.id, "created", role=role, dealer_id=dealer_id)
    return user


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def get_user_by_email(session: Session, *, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with e-mail {email}.")
    return user


def list_users(
    session: Session,
    *,
    dealer_id: int | None = None,
    role: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
) -> Sequence[User]:
    query = select(User)
    if dealer_id is not None:
        query = query.where(User.dealer_id == dealer_id)
    if role:
        query = query.where(User.role == role)
    return session.scalars(keyset_page(query, User.id, after=after_id, limit=limit)).all()


def set_active(session: Session, *, user_id: int, active: bool, actor: str) -> User:
    """Deactivating a user also signs them out everywhere."""
    with write_transaction(session):
        user = get_user(session, user_id=user_id)
        user.active = active
        if not active:
            session.execute(delete(UserSession).where(UserSession.user_id == user_id))
        _audit(session, actor, "user", user_id, "activated" if active else "deactivated")
    return user


def change_password(
    session: Session, *, user_id: int, current: str, new: str, keep_session_id: int | None = None
) -> None:
    """Change one's own password; every other session of the user is signed out."""
    with write_transaction(session):
        user = get_user(session, user_id=user_id)
        if not _verify(user.password_hash, current):
            raise BadCredentials("The current password is not right.")
        check_password_rules(new, user.email)
        user.password_hash = hash_password(new)
        user.password_changed_at = utcnow()
        others = delete(UserSession).where(UserSession.user_id == user_id)
        if keep_session_id is not None:
            others = others.where(UserSession.id != keep_session_id)
        session.execute(others)
        _audit(session, f"user:{user.email}", "user", user_id, "password-changed")


def reset_password(session: Session, *, email: str, new: str, actor: str) -> None:
    """An administrator sets a new password (CLI); clears the failed sign-ins counted for the
    e-mail from every address, ends every session."""
    with write_transaction(session):
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None:
            raise NotFound(f"No user with e-mail {email}.")
        check_password_rules(new, user.email)
        user.password_hash = hash_password(new)
        user.password_changed_at = utcnow()
        forget_failures(session, user.email)
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        _audit(session, actor, "user", user.id, "password-reset")


# Sessions -------------------------------------------------------------------------------


def logout(session: Session, *, token: str) -> bool:
    with write_transaction(session):
        result = session.execute(delete(UserSession).where(UserSession.token_hash == digest(token)))
    return bool(getattr(result, "rowcount", 0))


def session_principal(
    session: Session, *, token: str, now: datetime | None = None
) -> Principal | None:
    """The user a session cookie belongs to, or None when unknown, expired or deactivated.
    Use slides the idle expiry forward (at most to SESSION_MAX after sign-in)."""
    now = now or utcnow()
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == digest(token))
        .execution_options(**FRESH)
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.expires_at <= now or not user.active:
        return None
    principal = Principal(
        "user", user.id, user.email, Role(user.role), user.dealer_id, user_session.id
    )
    if now - user_session.last_seen_at >= TOUCH_EVERY:
        expires_at = min(now + SESSION_IDLE, user_session.created_at + SESSION_MAX)
        with write_transaction(session):
            session.execute(
                update(UserSession)
                .where(UserSession.id == principal.session_id)
                .values(last_seen_at=now, expires_at=expires_at)
            )
    return principal


def purge_sessions(session: Session, *, now: datetime | None = None) -> int:
    """Delete expired sessions (they are refused anyway; this keeps the table small)."""
    with write_transaction(session):
        result = session.execute(
            delete(UserSession).where(UserSession.expires_at <= (now or utcnow()))
        )
    return int(getattr(result, "rowcount", 0) or 0)


# API tokens -------------------------------------------------------------------------------


def create_token(
    session: Session,
    *,
    dealer_id: int,
    name: str,
    actor: str,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> NewToken:
    """A named token for one dealer's systems. The secret is returned once; only its SHA-256
    is stored. Two live tokens of a dealer may not share a name."""
    now = now or utcnow()
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid("A token needs a name of 1 to 100 characters (what system uses it).")
    if expires_at is not None and expires_at <= now:
        raise Invalid("The token's expiry must be in the future.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(session):
        clash = session.scalar(
            select(ApiToken.id).where(
                ApiToken.dealer_id == dealer_id,
                func.lower(ApiToken.name) == name.lower(),
                ApiToken.revoked_at.is_(None),
            )
        )
        if clash is not None:
            raise Conflict(f"This dealer already has a live token named '{name}'.")
        token = ApiToken(
            dealer_id=dealer_id,
            name=name,
            token_hash=digest(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            created_by=actor,
            created_at=now,
            expires_at=expires_at,
        )
        session.add(token)
        session.flush()
        _audit(session, actor, "api_token", token.id, "created", dealer_id=dealer_id, name=name)
    return NewToken(token, secret)


def list_tokens(
    session: Session, *, dealer_id: int | None = None, include_revoked: bool = False
) -> Sequence[ApiToken]:
    query = select(ApiToken)
    if dealer_id is not None:
        query = query.where(ApiToken.dealer_id == dealer_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return session.scalars(query.order_by(ApiToken.id)).all()


def revoke_token(
    session: Session,
    *,
    token_id: int,
    actor: str,
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> ApiToken:
    """Revoke a token; with `dealer_id`, only one of that dealer's (others are 'not found')."""
    now = now or utcnow()
    with write_transaction(session):
        token = session.get(ApiToken, token_id)
        if token is None or (dealer_id is not None and token.dealer_id != dealer_id):
            raise NotFound(f"No API token with id {token_id}.")
        if token.revoked_at is None:
            token.revoked_at = now
            _audit(session, actor, "api_token", token.id, "revoked")
    return token


def token_principal(
    session: Session, *, secret: str, now: datetime | None = None
) -> Principal | None:
    """The dealer a bearer token speaks for, or None when unknown, revoked or expired."""
    now = now or utcnow()
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest(secret)).execution_options(**FRESH)
    )
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    principal = Principal("token", token.id, token.name, Role.DEALER, token.dealer_id)
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        with write_transaction(session):
            session.execute(
                update(ApiToken).where(ApiToken.id == principal.id).values(last_used_at=now)
            )
    return principal


# Helpers ----------------------------------------------------------------------------------


def digest(secret: str) -> str:
    """What is stored of a session id or API token. They are 256-bit random, so a fast hash
    is enough (there is no guessing to slow down, unlike passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _dummy_hash() -> str:
    key = f"{hasher.time_cost}:{hasher.memory_cost}:{hasher.parallelism}"
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash("not-a-password-of-anyone")
    return _dummy_hashes[key]


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _audit(
    session: Session, actor: str, kind: str, subject_id: int, action: str, **data: Any
) -> None:
    audit.record(
        session, actor=actor, subject_kind=kind, subject_id=subject_id, action=action, **data
    )


# Sign-in lives in accounts/signin.py (which imports this module at its end, so that either
# may be imported first); its use cases are re-exported under their old names.
from paddock.accounts.signin import authenticate as authenticate  # noqa: E402
from paddock.accounts.signin import forget_failures  # noqa: E402
from paddock.accounts.signin import login as login  # noqa: E402
