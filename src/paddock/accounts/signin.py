"""Sign-in: the password check, its throttles, and the web session it opens.

Failed sign-ins are counted in the shared throttle table (paddock/throttle.py), so every
worker process (and machine) sees the same counts:
- per address, any e-mail: MAX_FAILURES_PER_ADDRESS per ADDRESS_WINDOW (one address trying
  many accounts);
- per (e-mail, address): PAIR_LIMITS, a delay that grows (5 tries per quarter hour, then 20 a
  day), so nobody can lock an account from elsewhere: the right password from another
  address still signs in while one address waits.
Each attempt takes its slots before the password is checked (one atomic statement per bucket:
racing attempts cannot get past a limit), and a successful one gives them back and clears
the (e-mail, address) count. The buckets are keyed by the e-mail as typed (normalised), not by
the account, so a known and an unknown e-mail get the same answers (status, detail,
Retry-After) at every step, in the same time (an unknown e-mail is checked against a dummy
hash). Reaching a limit on a known account is written to its audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock import throttle
from paddock.accounts.errors import BadCredentials, TooManyAttempts
from paddock.accounts.models import User, UserSession
from paddock.clients import address_key
from paddock.db import utcnow
from paddock.unit_of_work import end_read, write_transaction

# Failed sign-ins one address may make, for any e-mails, per window (seconds).
MAX_FAILURES_PER_ADDRESS = 20
ADDRESS_WINDOW = 300
# Failed sign-ins per (e-mail, address): (tries, per seconds), each a longer wait.
PAIR_LIMITS = ((5, 15 * 60), (20, 24 * 3600))
WRONG = "Wrong e-mail or password."


def authenticate(
    session: Session, *, email: str, password: str, ip: str = "", now: datetime | None = None
) -> User:
    """The user whose password this is, or a refusal that says no more than it must: 401
    for a wrong e-mail or password, 429 with Retry-After while this address must wait
    (for any e-mail, or for this one). A hash made with old parameters is upgraded."""
    at = now.timestamp() if now is not None else throttle.clock()
    now = now or utcnow()
    key = email.strip().lower()
    limits = _limits(key, ip)
    verdict = throttle.hit_all(session, limits, now=at)
    if verdict.wait:
        raise _too_many(verdict, verdict.wait)
    found = session.execute(
        select(User.id, User.active, User.password_hash).where(User.email == key)
    ).first()
    end_read(session)  # nothing held while the password is checked
    if found is None or not found.active:
        service._verify(service._dummy_hash(), password)
        _failed(session, None, ip, verdict, at)
    if not service._verify(found.password_hash, password):
        _failed(session, found.id, ip, verdict, at)
    rehash = service.hasher.check_needs_rehash(found.password_hash)
    new_hash = service.hash_password(password) if rehash else None
    with write_transaction(session):
        user = session.get_one(User, found.id, populate_existing=True)
        user.last_login_at = now
        if new_hash:
            user.password_hash = new_hash
        throttle.forget(session, _pair_key(key, ip))
    throttle.forgive(session, limits[0].key, ADDRESS_WINDOW, now=at)
    return user


def login(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> service.SignIn:
    """Check the password and open a web session; the returned token goes in the cookie."""
    now = now or utcnow()
    user = authenticate(session, email=email, password=password, ip=ip, now=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + service.SESSION_IDLE
    with write_transaction(session):
        session.add(
            UserSession(
                token_hash=service.digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
                ip=ip[:45],
                user_agent=user_agent[:300],
            )
        )
        service._audit(session, f"user:{user.email}", "user", user.id, "signed-in", ip=ip)
    return service.SignIn(user, token, expires_at)


def forget_failures(session: Session, email: str) -> None:
    """Clear the e-mail's failed sign-ins from every address (a new password was set), in the
    caller's transaction."""
    throttle.forget(session, f"signin:pair:{_digest(email.strip().lower())}:", prefix=True)


def _limits(key: str, ip: str) -> list[throttle.Limit]:
    address = address_key(ip)
    return [
        throttle.Limit(f"signin:addr:{address}", MAX_FAILURES_PER_ADDRESS, ADDRESS_WINDOW),
        *(throttle.Limit(_pair_key(key, ip), n, window) for n, window in PAIR_LIMITS),
    ]


def _pair_key(key: str, ip: str) -> str:
    return f"signin:pair:{_digest(key)}:{address_key(ip)}"


def _digest(key: str) -> str:
    """The e-mail in throttle keys: not kept in clear in a table nobody erases from."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _failed(
    session: Session, user_id: int | None, ip: str, verdict: throttle.Verdict, at: float
) -> NoReturn:
    """A wrong password (or unknown e-mail): the slots stay taken. When this one filled a
    bucket of a known account, the audit says from where and until when."""
    filled = [
        throttle.retry_after(at, window)
        for (_, window), left in zip(PAIR_LIMITS, verdict.left[1:], strict=True)
        if left == 0
    ]
    if user_id is not None and filled:
        until = datetime.fromtimestamp(at + max(filled), tz=UTC)
        with write_transaction(session):
            service._audit(
                session,
                "system",
                "user",
                user_id,
                "locked",
                address=ip,
                until=until.isoformat(timespec="seconds"),
            )
    raise BadCredentials(WRONG)


def _too_many(verdict: throttle.Verdict, wait: int) -> TooManyAttempts:
    if any(verdict.full[1:]):
        minutes = (wait + 59) // 60
        return TooManyAttempts(
            "Too many failed sign-ins with this e-mail address from your address: try again "
            f"in {minutes} minute(s), or sign in from another network.",
            retry_after=wait,
        )
    return TooManyAttempts(
        f"Too many failed sign-ins from your address; try again in {wait} seconds.",
        retry_after=wait,
    )


# At the end: service re-exports authenticate and login, so either module may load first.
from paddock.accounts import service  # noqa: E402
