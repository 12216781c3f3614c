"""Sign-in throttles (issue 11, findings 7 and 8): counted in the database for every worker,
per address and per (e-mail, address); an outsider cannot lock anyone out; known and unknown
e-mails answer alike; X-Forwarded-For and -Proto only from a trusted proxy; 429 carries
Retry-After on the API and the page."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from paddock.accounts import service as accounts
from paddock.accounts import signin
from paddock.accounts.errors import BadCredentials, TooManyAttempts
from paddock.app import create_app
from paddock.db import utcnow
from paddock.errors import DomainError
from paddock.settings import Settings
from tests.web.conftest import csrf_from

PASSWORD = "correct horse battery"
WRONG = "not the password"
ADMIN = "admin@paddock.example"
TRIES = signin.PAIR_LIMITS[0][0]


@pytest.fixture
def admin(session: Session) -> str:
    accounts.create_user(session, email=ADMIN, role="admin", password=PASSWORD)
    return ADMIN


def client_at(settings: Settings, address: str) -> TestClient:
    return TestClient(create_app(settings, sweeper=False), client=(address, 50000))


@pytest.fixture
def clients(settings: Settings) -> Iterator[dict[str, TestClient]]:
    """One app, callers at three addresses."""
    app = create_app(settings, sweeper=False)
    made = {
        name: TestClient(app, client=(address, 50000))
        for name, address in (
            ("outsider", "203.0.113.9"),
            ("other", "198.51.100.77"),
            ("admin", "192.0.2.10"),
        )
    }
    with made["admin"]:
        yield made


def login(client: TestClient, email: str, password: str, **headers: str) -> tuple[int, str, str]:
    response = client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )
    detail = response.json().get("detail", "") if response.status_code >= 400 else ""
    return response.status_code, detail, response.headers.get("retry-after", "")


def answer(session: Session, email: str, ip: str, now: datetime) -> tuple[str, str, int]:
    try:
        accounts.authenticate(session, email=email, password=WRONG, ip=ip, now=now)
    except DomainError as exc:
        return type(exc).__name__, exc.detail, int(exc.extra.get("retry_after", 0))
    raise AssertionError("a wrong password signed in")


def test_known_and_unknown_emails_answer_alike_at_every_step(session: Session, admin: str) -> None:
    now = utcnow()
    steps = signin.MAX_FAILURES_PER_ADDRESS + 2
    known = [answer(session, admin, "198.51.100.1", now) for _ in range(steps)]
    unknown = [answer(session, "nobody@paddock.example", "198.51.100.2", now) for _ in range(steps)]
    assert known == unknown
    assert [k[0] for k in known[: TRIES + 1]] == ["BadCredentials"] * TRIES + ["TooManyAttempts"]
    # Past the limits of the day, still alike.
    later = now + timedelta(minutes=16)
    assert answer(session, admin, "198.51.100.1", later) == answer(
        session, "nobody@paddock.example", "198.51.100.2", later
    )


def test_over_http_known_and_unknown_emails_answer_alike(
    clients: dict[str, TestClient], admin: str
) -> None:
    known = [login(clients["outsider"], admin, WRONG) for _ in range(TRIES + 2)]
    unknown = [login(clients["other"], "nobody@paddock.example", WRONG) for _ in range(TRIES + 2)]
    assert [(status, detail) for status, detail, _ in known] == [
        (status, detail) for status, detail, _ in unknown
    ]
    assert [status for status, _, _ in known] == [401] * TRIES + [429, 429]
    # Retry-After: the same window end for both (a second apart at most, as the clock ticks).
    for (_, _, a), (_, _, b) in zip(known[TRIES:], unknown[TRIES:], strict=True):
        assert a and b and abs(int(a) - int(b)) <= 1


def test_an_outsider_cannot_lock_the_admin_out(clients: dict[str, TestClient], admin: str) -> None:
    for _ in range(3 * TRIES):
        status, detail, retry_after = login(clients["outsider"], admin, WRONG)
    assert status == 429 and int(retry_after) > 0 and "try again" in detail
    # The outsider's address waits even with the right password...
    assert login(clients["outsider"], admin, PASSWORD)[0] == 429
    # ...while the admin, at their own address, signs in.
    assert login(clients["admin"], admin, PASSWORD)[0] == 200


def test_racing_attempts_cannot_get_past_the_limit(
    session_factory: sessionmaker[Session], admin: str
) -> None:
    racers = 16
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        with session_factory() as own:
            barrier.wait()
            try:
                accounts.authenticate(own, email=admin, password=WRONG, ip="203.0.113.9")
                outcome = "signed in"
            except (BadCredentials, TooManyAttempts) as exc:
                outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Counter(outcomes) == {"BadCredentials": TRIES, "TooManyAttempts": racers - TRIES}


def test_two_apps_on_one_database_share_the_count(settings: Settings, admin: str) -> None:
    """Two server processes (two apps on one database): failures in either count for both."""
    with client_at(settings, "203.0.113.9") as one, client_at(settings, "203.0.113.9") as two:
        for n in range(TRIES):
            assert login(one if n % 2 else two, admin, WRONG)[0] == 401
        assert login(one, admin, PASSWORD)[0] == 429
        assert login(two, admin, PASSWORD)[0] == 429


def test_a_new_password_clears_the_failures(session: Session, admin: str) -> None:
    now = utcnow()
    for _ in range(TRIES):
        answer(session, admin, "203.0.113.9", now)
    accounts.reset_password(session, email=admin, new="a brand new password", actor="test")
    assert accounts.authenticate(
        session, email=admin, password="a brand new password", ip="203.0.113.9", now=now
    )


def test_x_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    settings: Settings, admin: str
) -> None:
    # No trusted proxy (the default): a new X-Forwarded-For per try changes nothing.
    with client_at(settings, "127.0.0.1") as local:
        answers = [
            login(local, admin, WRONG, **{"X-Forwarded-For": f"198.51.100.{n}"})[0]
            for n in range(TRIES + 1)
        ]
    assert answers == [401] * TRIES + [429]
    # Behind a trusted proxy: the right-most address it did not add is the client; what the
    # client wrote to the left of it proves nothing.
    proxied = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8, 192.0.2.1"})
    with client_at(proxied, "10.1.2.3") as proxy:
        for n in range(TRIES):
            spoofed = f"203.0.113.{n}, 198.51.100.50, 192.0.2.1"
            assert login(proxy, admin, WRONG, **{"X-Forwarded-For": spoofed})[0] == 401
        waits = login(proxy, admin, PASSWORD, **{"X-Forwarded-For": "198.51.100.50"})
        assert waits[0] == 429
        assert login(proxy, admin, PASSWORD, **{"X-Forwarded-For": "198.51.100.51"})[0] == 200


def test_the_sign_in_page_answers_429_with_retry_after(settings: Settings, admin: str) -> None:
    with client_at(settings, "203.0.113.9") as web:
        web.headers["accept"] = "text/html"
        for _ in range(TRIES + 1):
            token = csrf_from(web, "/login")
            page = web.post("/login", data={"email": admin, "password": WRONG, "csrf_token": token})
    assert page.status_code == 429
    assert int(page.headers["retry-after"]) > 0
    assert "try again" in page.text and page.headers["content-type"].startswith("text/html")


def _session_cookie(response: httpx.Response) -> str:
    cookies = [
        str(c) for c in response.headers.get_list("set-cookie") if c.startswith("paddock_session=")
    ]
    assert cookies, "no session cookie"
    return cookies[0].lower()


def test_secure_cookie_behind_a_trusted_tls_proxy_and_in_production(
    settings: Settings, admin: str
) -> None:
    def web_sign_in(config: Settings, peer: str, **headers: str) -> str:
        with client_at(config, peer) as web:
            web.headers["accept"] = "text/html"
            token = csrf_from(web, "/login")
            response = web.post(
                "/login",
                data={"email": admin, "password": PASSWORD, "csrf_token": token},
                headers=headers,
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
            return _session_cookie(response)

    https = {"X-Forwarded-Proto": "https"}
    proxied = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    assert "secure" in web_sign_in(proxied, "10.0.0.2", **https).split("; ")
    assert "secure" not in web_sign_in(settings, "10.0.0.2", **https).split("; ")  # untrusted
    assert "secure" not in web_sign_in(proxied, "10.0.0.2").split("; ")  # plain http
    production = settings.model_copy(update={"environment": "production", "secret_key": "x" * 40})
    assert "secure" in web_sign_in(production, "10.0.0.2").split("; ")
    with client_at(production, "10.0.0.2") as api:
        response = api.post("/api/v1/auth/login", json={"email": admin, "password": PASSWORD})
        assert "secure" in _session_cookie(response).split("; ")


def test_trusted_proxies_setting_is_validated() -> None:
    assert Settings(trusted_proxies="10.0.0.0/8, 192.0.2.1, ::1").trusted_proxies
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.internal")
