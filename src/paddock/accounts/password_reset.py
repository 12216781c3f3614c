"""'Forgot password': a single-use link by e-mail, valid for RESET_MINUTES.

Asking answers the same whether or not the address has an account (the page says "if an
account exists, a link is on its way"); the asking is throttled per address and per e-mail
(`throttle.py`), and past the per-e-mail limit nothing more is sent, silently. The token in the
link is an HMAC of a random nonce under the server's secret key: the mail is written when it is
sent (`paddock.mail`), from the nonce, and only the token's SHA-256 is stored. Using the link
sets the password, spends the token (and every other open one of the user), clears the failed
sign-ins and ends every session of the user, in one transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from paddock import throttle
from paddock.accounts.models import PasswordReset, User, UserSession
from paddock.accounts.service import check_password_rules, hash_password
from paddock.accounts.signin import forget_failures
from paddock.audit import service as audit
from paddock.clients import address_key
from paddock.db import utcnow
from paddock.errors import Invalid, TooManyRequests
from paddock.mail import messages
from paddock.mail.models import MailKind
from paddock.unit_of_work import write_transaction

RESET_MINUTES = 60
# Asking for links: per client address, and per e-mail (past it, silently nothing is sent).
PER_ADDRESS = (10, 15 * 60)
PER_EMAIL = (3, 3600)
EXPIRED = "This password link has expired or was already used. Ask for a new one."


def token_for(secret_key: str, nonce: str) -> str:
    mac = hmac.new(secret_key.encode(), f"password-reset:{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(
    session: Session,
    *,
    email: str,
    secret_key: str,
    ip: str = "",
    now: datetime | None = None,
) -> None:
    """Queue a reset link for the account with this e-mail, if there is an active one. Raises
    TooManyRequests when this client address asked too often; says nothing else."""
    at = throttle.clock() if now is None else now.timestamp()
    now = now or utcnow()
    key = email.strip().lower()
    wait = throttle.hit(session, f"reset-ask:{address_key(ip)}", *PER_ADDRESS, now=at)
    if wait:
        raise TooManyRequests(
            f"Too many password requests from your address; try again in {wait} seconds.",
            retry_after=wait,
        )
    if throttle.hit(session, f"reset-email:{throttle.hidden(key)}", *PER_EMAIL, now=at):
        return
    with write_transaction(session):
        user = session.scalar(select(User).where(User.email == key, User.active.is_(True)))
        if user is None:
            return
        nonce = secrets.token_hex(16)
        reset = PasswordReset(
            user_id=user.id,
            nonce=nonce,
            token_hash=digest(token_for(secret_key, nonce)),
            created_at=now,
            expires_at=now + timedelta(minutes=RESET_MINUTES),
        )
        session.add(reset)
        session.flush()
        messages.enqueue(
            session,
            kind=MailKind.PASSWORD_RESET,
            recipient=user.email,
            payload={"reset_id": reset.id},
            now=now,
        )


def open_reset(session: Session, *, token: str, now: datetime | None = None) -> User:
    """The user a live link is for; Invalid when it has expired or was used."""
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= (now or utcnow()):
        raise Invalid(EXPIRED)
    user = session.get(User, reset.user_id)
    if user is None or not user.active:
        raise Invalid(EXPIRED)
    return user


def reset_with_token(
    session: Session, *, token: str, new: str, now: datetime | None = None
) -> User:
    """Set the password through a live link: the link and the user's other links are spent,
    failed sign-ins forgotten, every session ended."""
    now = now or utcnow()
    with write_transaction(session):
        user = open_reset(session, token=token, now=now)
        check_password_rules(new, user.email)
        spent = session.execute(
            update(PasswordReset)
            .where(
                PasswordReset.token_hash == digest(token),
                PasswordReset.used_at.is_(None),
            )
            .values(used_at=now)
        )
        if not getattr(spent, "rowcount", 0):  # a racing use of the same link won
            raise Invalid(EXPIRED)
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        user.password_hash = hash_password(new)
        user.password_changed_at = now
        user.failed_logins = 0
        user.locked_until = None
        forget_failures(session, user.email)
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        audit.record(
            session,
            actor=f"user:{user.email}",
            subject_kind="user",
            subject_id=user.id,
            action="password-reset-by-link",
        )
    return user


def reset_for_mail(session: Session, reset_id: int) -> tuple[PasswordReset, User] | None:
    """The link a queued mail is about, while it can still be used."""
    reset = session.get(PasswordReset, reset_id)
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    user = session.get(User, reset.user_id)
    return None if user is None or not user.active else (reset, user)
