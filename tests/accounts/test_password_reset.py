"""'Forgot password': the same answer for any address, one mail with a link that works once
and not after an hour, stored only as a hash; using it sets the password, ends every session
and spends the user's other links. The pages from the sign-in page's link to signing in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.accounts import password_reset
from paddock.accounts import service as accounts
from paddock.accounts.models import PasswordReset, UserSession
from paddock.db import utcnow
from paddock.errors import Invalid, TooManyRequests
from paddock.mail import sender
from paddock.mail.devserver import DevServer
from paddock.mail.models import MailKind
from tests.auth import user_for
from tests.mail.helpers import PUBLIC_URL, SECRET, mail_settings, messages, same_page

NEW = "a brand new passphrase"


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as running:
        yield running


def _link(server: DevServer, email: str) -> str:
    [mail] = server.inbox.to(email)
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{re.escape(PUBLIC_URL)}/password/reset/(\w+)", text)
    assert found, text
    return found.group(1)


def test_password_reset_round_trip(session: Session, server: DevServer) -> None:
    email = user_for(session, "operations")
    password_reset.request_reset(session, email=email, secret_key=SECRET, ip="203.0.113.1")
    password_reset.request_reset(
        session, email="nobody@centre.example", secret_key=SECRET, ip="203.0.113.1"
    )
    assert [m.kind for m in messages(session)] == [MailKind.PASSWORD_RESET]  # one, for the user
    sender.send_due(session, mail_settings(server))
    token = _link(server, email)
    stored = session.scalars(select(PasswordReset.token_hash)).all()
    assert token not in stored and stored == [password_reset.digest(token)]

    user = password_reset.reset_with_token(session, token=token, new=NEW)
    assert accounts.hasher.verify(user.password_hash, NEW)
    assert session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all() == []
    with pytest.raises(Invalid, match="expired or was already used"):
        password_reset.reset_with_token(session, token=token, new="yet another passphrase")


def test_a_link_expires_and_a_bad_password_keeps_it(session: Session) -> None:
    email = user_for(session, "coach")
    password_reset.request_reset(session, email=email, secret_key=SECRET)
    nonce = session.scalars(select(PasswordReset.nonce)).one()
    token = password_reset.token_for(SECRET, nonce)
    with pytest.raises(Invalid, match="at least"):
        password_reset.reset_with_token(session, token=token, new="short")
    password_reset.open_reset(session, token=token)  # still good
    later = utcnow() + timedelta(minutes=password_reset.RESET_MINUTES + 1)
    with pytest.raises(Invalid, match="expired"):
        password_reset.reset_with_token(session, token=token, new=NEW, now=later)
    with pytest.raises(Invalid):
        password_reset.open_reset(session, token="0" * 64)


def test_asking_is_throttled_per_address(session: Session) -> None:
    for n in range(password_reset.PER_ADDRESS[0]):
        password_reset.request_reset(
            session, email=f"u{n}@example.com", secret_key=SECRET, ip="198.51.100.7"
        )
    with pytest.raises(TooManyRequests):
        password_reset.request_reset(
            session, email="again@example.com", secret_key=SECRET, ip="198.51.100.7"
        )


def _csrf(page_text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert found
    return found.group(1)


def test_the_pages_from_sign_in_to_a_new_password(client: TestClient, session: Session) -> None:
    email = user_for(session, "admin")
    login = client.get("/login")
    assert 'href="/password/forgot"' in login.text
    answers = []
    for address in (email, "nobody@centre.example"):
        page = client.get("/password/forgot")
        answer = client.post(
            "/password/forgot", data={"email": address, "csrf_token": _csrf(page.text)}
        )
        assert answer.status_code == 200
        answers.append(same_page(answer.text, address))
    assert answers[0] == answers[1]
    secret = str(client.app.state.settings.secret_key)  # type: ignore[attr-defined]
    nonce = session.scalars(select(PasswordReset.nonce)).one()
    token = password_reset.token_for(secret, nonce)
    page = client.get(f"/password/reset/{token}")
    assert page.status_code == 200 and email in page.text
    csrf = _csrf(page.text)
    differ = client.post(
        f"/password/reset/{token}", data={"password": NEW, "confirm": "other", "csrf_token": csrf}
    )
    assert differ.status_code == 422 and "differ" in differ.text
    done = client.post(
        f"/password/reset/{token}",
        data={"password": NEW, "confirm": NEW, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("/login")
    assert client.get(f"/password/reset/{token}").status_code == 410
    session.rollback()
    signed_in = client.post(
        "/login",
        data={"email": email, "password": NEW, "csrf_token": _csrf(client.get("/login").text)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
