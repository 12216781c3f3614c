"""Passwords, lockout, sessions and tokens, through the service and over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts import service as accounts
from paddock.accounts import signin
from paddock.accounts.errors import BadCredentials, TooManyAttempts
from paddock.accounts.models import ApiToken, User, UserSession
from paddock.audit.models import AuditEntry
from paddock.db import utcnow
from paddock.dealers import service as dealers
from paddock.errors import Conflict, Invalid, NotFound

PASSWORD = "correct horse battery"


def _dealer(session: Session, code: str = "D-ATL-001") -> int:
    return dealers.create_dealer(
        session, code=code, name="Peach Motors", city="Atlanta", state="GA", region="Southeast"
    ).id


def test_password_is_stored_as_argon2id_and_checked(session: Session) -> None:
    user = accounts.create_user(
        session, email=" Ann@Example.COM ", role="operations", password=PASSWORD
    )
    assert user.email == "ann@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert accounts.authenticate(session, email="ANN@example.com", password=PASSWORD).id == user.id
    with pytest.raises(BadCredentials):
        accounts.authenticate(session, email="ann@example.com", password="wrong password!")
    with pytest.raises(BadCredentials):  # same answer for an unknown address
        accounts.authenticate(session, email="nobody@example.com", password=PASSWORD)


def test_old_parameters_are_upgraded_at_sign_in(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = accounts.create_user(session, email="a@example.com", role="coach", password=PASSWORD)
    old = user.password_hash
    monkeypatch.setattr(
        accounts, "hasher", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )
    accounts.authenticate(session, email="a@example.com", password=PASSWORD)
    session.expire_all()
    new = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert new != old and "m=16,t=2,p=1" in (new or "")
    accounts.authenticate(session, email="a@example.com", password=PASSWORD)  # still works


def test_rules_for_users(session: Session) -> None:
    with pytest.raises(Invalid, match="at least"):
        accounts.create_user(session, email="a@example.com", role="admin", password="short")
    with pytest.raises(Invalid, match="Unknown role"):
        accounts.create_user(session, email="a@example.com", role="king", password=PASSWORD)
    with pytest.raises(Invalid, match="belong to a dealer"):
        accounts.create_user(session, email="a@example.com", role="dealer", password=PASSWORD)
    with pytest.raises(NotFound):
        accounts.create_user(
            session, email="a@example.com", role="dealer", password=PASSWORD, dealer_code="D-X-1"
        )
    with pytest.raises(Invalid, match="Only dealer staff"):
        _dealer(session)
        accounts.create_user(
            session,
            email="a@example.com",
            role="admin",
            password=PASSWORD,
            dealer_code="D-ATL-001",
        )
    with pytest.raises(Invalid, match="not a valid e-mail"):
        accounts.create_user(session, email="not-an-email", role="admin", password=PASSWORD)
    accounts.create_user(session, email="a@example.com", role="admin", password=PASSWORD)
    with pytest.raises(Conflict):
        accounts.create_user(session, email="A@example.com", role="coach", password=PASSWORD)


def test_failures_make_one_address_wait_for_one_email_not_lock_the_account(
    session: Session,
) -> None:
    """Five wrong passwords from one address: that address waits for that e-mail (even with
    the right password), while the right password from another address signs in."""
    user = accounts.create_user(session, email="b@example.com", role="admin", password=PASSWORD)
    now = utcnow()
    for _ in range(signin.PAIR_LIMITS[0][0]):
        with pytest.raises(BadCredentials):
            accounts.authenticate(
                session, email="b@example.com", password="nope-nope-nope", ip="1.2.3.4", now=now
            )
    with pytest.raises(TooManyAttempts) as waiting:
        accounts.authenticate(
            session, email="b@example.com", password=PASSWORD, ip="1.2.3.4", now=now
        )
    assert waiting.value.status == 429
    assert 0 < waiting.value.extra["retry_after"] <= 15 * 60
    assert "another network" in waiting.value.detail
    assert accounts.authenticate(
        session, email="b@example.com", password=PASSWORD, ip="5.6.7.8", now=now
    )
    # The lock of the pair is in the user's audit trail, with the address.
    locked = session.scalars(
        select(AuditEntry).where(AuditEntry.subject_id == user.id, AuditEntry.action == "locked")
    ).all()
    assert [entry.data["address"] for entry in locked] == ["1.2.3.4"]
    # Once the window is over the address may try again; success clears its count.
    later = now + timedelta(seconds=waiting.value.extra["retry_after"])
    assert accounts.authenticate(
        session, email="b@example.com", password=PASSWORD, ip="1.2.3.4", now=later
    )


def test_one_address_trying_many_accounts_is_slowed_down(session: Session) -> None:
    for n in range(signin.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(BadCredentials):
            accounts.authenticate(
                session, email=f"u{n}@example.com", password="x" * 12, ip="1.2.3.4"
            )
    with pytest.raises(TooManyAttempts, match="your address"):
        accounts.authenticate(session, email="u0@example.com", password="x" * 12, ip="1.2.3.4")
    with pytest.raises(BadCredentials):  # another address is not affected
        accounts.authenticate(session, email="u0@example.com", password="x" * 12, ip="5.6.7.8")


def test_sessions_expire_slide_and_end_at_logout(session: Session) -> None:
    user = accounts.create_user(session, email="c@example.com", role="coach", password=PASSWORD)
    now = utcnow()
    sign_in = accounts.login(session, email="c@example.com", password=PASSWORD, now=now)
    stored = session.scalar(select(UserSession.token_hash))
    assert stored is not None and sign_in.token not in stored  # only a hash is kept
    principal = accounts.session_principal(session, token=sign_in.token, now=now)
    assert principal is not None and principal.id == user.id and principal.role == "coach"
    # Use keeps it alive past the first idle expiry ...
    for hours in (6, 12, 18):
        assert accounts.session_principal(
            session, token=sign_in.token, now=now + timedelta(hours=hours)
        )
    # ... but idleness ends it, and so does the absolute maximum.
    assert (
        accounts.session_principal(session, token=sign_in.token, now=now + timedelta(hours=31))
        is None
    )
    assert accounts.session_principal(session, token="forged", now=now) is None
    again = accounts.login(session, email="c@example.com", password=PASSWORD, now=now)
    assert accounts.logout(session, token=again.token)
    assert accounts.session_principal(session, token=again.token, now=now) is None


def test_deactivated_user_loses_sessions(session: Session) -> None:
    user = accounts.create_user(session, email="d@example.com", role="coach", password=PASSWORD)
    sign_in = accounts.login(session, email="d@example.com", password=PASSWORD)
    accounts.set_active(session, user_id=user.id, active=False, actor="test")
    assert accounts.session_principal(session, token=sign_in.token) is None
    with pytest.raises(BadCredentials):
        accounts.login(session, email="d@example.com", password=PASSWORD)


def test_tokens_are_hashed_scoped_named_and_revocable(session: Session) -> None:
    dealer_id = _dealer(session)
    created = accounts.create_token(session, dealer_id=dealer_id, name="DMS sync", actor="t")
    assert created.secret.startswith("pdk_") and len(created.secret) > 40
    row = session.get(ApiToken, created.token.id)
    assert row is not None and created.secret not in row.token_hash
    principal = accounts.token_principal(session, secret=created.secret)
    assert principal is not None and principal.dealer_id == dealer_id and principal.role == "dealer"
    session.expire_all()
    assert session.get(ApiToken, created.token.id).last_used_at is not None  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        accounts.create_token(session, dealer_id=dealer_id, name="dms SYNC", actor="t")
    other = _dealer(session, "D-ATL-002")
    with pytest.raises(NotFound):  # another dealer's token: not found, not revoked
        accounts.revoke_token(session, token_id=created.token.id, actor="t", dealer_id=other)
    accounts.revoke_token(session, token_id=created.token.id, actor="t", dealer_id=dealer_id)
    assert accounts.token_principal(session, secret=created.secret) is None
    # The name is free again once the old token is revoked.
    accounts.create_token(session, dealer_id=dealer_id, name="DMS sync", actor="t")
    expiring = accounts.create_token(
        session,
        dealer_id=dealer_id,
        name="temp",
        actor="t",
        expires_at=utcnow() + timedelta(minutes=5),
    )
    assert (
        accounts.token_principal(
            session, secret=expiring.secret, now=utcnow() + timedelta(minutes=6)
        )
        is None
    )


def test_http_sign_in_me_logout(client: TestClient, session: Session) -> None:
    _dealer(session)
    accounts.create_user(
        session,
        email="staff@peach.example",
        role="dealer",
        password=PASSWORD,
        dealer_code="D-ATL-001",
    )
    assert client.get("/api/v1/auth/me").status_code == 401
    wrong = client.post(
        "/api/v1/auth/login", json={"email": "staff@peach.example", "password": "x"}
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    ok = client.post(
        "/api/v1/auth/login", json={"email": "staff@peach.example", "password": PASSWORD}
    )
    assert ok.status_code == 200
    cookie = ok.headers["set-cookie"]
    assert (
        "paddock_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    )
    me = client.get("/api/v1/auth/me").json()
    assert me == {
        "kind": "user",
        "name": "staff@peach.example",
        "role": "dealer",
        "dealer": "D-ATL-001",
    }
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_http_tokens_roles_and_lockout(client: TestClient, session: Session) -> None:
    _dealer(session)
    accounts.create_user(session, email="admin@paddock.example", role="admin", password=PASSWORD)
    accounts.create_user(session, email="coach@paddock.example", role="coach", password=PASSWORD)
    login = client.post(
        "/api/v1/auth/login", json={"email": "admin@paddock.example", "password": PASSWORD}
    )
    assert login.status_code == 200
    created = client.post("/api/v1/tokens", json={"name": "DMS", "dealer": "D-ATL-001"})
    assert created.status_code == 201
    secret = created.json()["token"]
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["DMS"] and "token" not in listed[0]
    bearer = {"Authorization": f"Bearer {secret}"}
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers=bearer).json()["kind"] == "token"
    # A token cannot mint tokens or create users.
    assert client.post("/api/v1/tokens", json={"name": "more"}, headers=bearer).status_code == 403
    body = {"email": "x@example.com", "role": "admin", "password": PASSWORD}
    assert client.post("/api/v1/users", json=body, headers=bearer).status_code == 403
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401
    # Role checks: a coach may not create users (403), nobody anonymous (401).
    assert client.post("/api/v1/users", json=body).status_code == 401
    client.post("/api/v1/auth/login", json={"email": "coach@paddock.example", "password": PASSWORD})
    assert client.post("/api/v1/users", json=body).status_code == 403
    client.cookies.clear()
    for _ in range(signin.PAIR_LIMITS[0][0] + 1):
        last = client.post(
            "/api/v1/auth/login", json={"email": "coach@paddock.example", "password": "bad pass!"}
        )
    assert last.status_code == 429
    assert last.headers["retry-after"] == str(last.json()["retry_after"])
    # Revoking works at once.
    client.post("/api/v1/auth/login", json={"email": "admin@paddock.example", "password": PASSWORD})
    assert client.delete(f"/api/v1/tokens/{created.json()['id']}").status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_the_sweeper_deletes_ended_sessions_only(session: Session) -> None:
    """purge_sessions (run by the server's sweeper): ended sessions go, live ones stay."""
    from tests.auth import user_for

    email = user_for(session, "operations")
    user_id = session.scalar(select(User.id).where(User.email == email))
    now = utcnow()
    for n, expires in enumerate((now - timedelta(minutes=1), now + timedelta(hours=1))):
        session.add(
            UserSession(
                token_hash=f"{n:064d}",
                user_id=user_id,
                created_at=now - timedelta(hours=2),
                last_seen_at=now - timedelta(hours=1),
                expires_at=expires,
            )
        )
    session.commit()
    assert accounts.purge_sessions(session, now=now) == 1
    left = session.scalars(select(UserSession.expires_at)).all()
    assert len(left) == 1 and left[0] > now
