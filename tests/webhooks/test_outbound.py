"""Webhooks go to public addresses only (issue 11, finding 5): a URL whose host is or resolves
to a loopback, private, link-local, multicast, reserved, unspecified or metadata address is
refused when saved (422 problem+json saying why) and again at every send, where the name is
resolved once and the connection made to the checked address (DNS rebinding); redirects are not
followed and the dealer never sees the receiver's answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from paddock.errors import Invalid
from paddock.webhooks import outbound
from paddock.webhooks import service as webhooks
from paddock.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookEvent
from tests.auth import sign_in
from tests.bookings.test_cli import runner_for
from tests.crm.helpers import make_dealer, visit
from tests.factories import MONDAY, make_world
from tests.webhooks.receiver import Receiver

SECRET = "whsec_test_secret_0123456789"
PUBLIC = "93.184.215.14"  # a public address (what example.com had)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


@dataclass
class FakeDNS:
    """Names the checking resolver knows and what they resolve to now; the names it was asked
    for. Any other name is unknown (as these are to the system's resolver)."""

    names: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.names:
            raise OSError(f"unknown name {host}")
        return self.names[host]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(outbound, "resolve", fake.resolve)
    return fake


REFUSED = [
    ("http://127.0.0.1:8000/hook", "loopback"),
    ("http://127.8.9.10/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),
    ("http://168.63.129.16/machine", "metadata"),
    ("http://192.0.0.192/opc/v2/instance/", "metadata"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://[fc00::1]/hook", "private"),
    ("http://100.64.0.1/hook", "not a public address"),
    ("http://169.254.1.1/hook", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://[ff02::1]/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a9fe:a9fe]/hook", "metadata"),  # NAT64 around 169.254.169.254
    ("http://2130706433/hook", "unusual form"),  # 127.0.0.1 as one decimal number
    ("http://0x7f.1/hook", "unusual form"),
    ("http://0x7f000001/hook", "unusual form"),
    ("http://017700000001/hook", "unusual form"),
    ("http://127.1/hook", "unusual form"),
    ("http://localhost:8000/hook", "localhost"),
    ("http://LOCALHOST./hook", "localhost"),
    ("http://api.localhost/hook", "localhost"),
    ("http://internal.example/hook", "private"),  # resolves to 10.0.0.7
    ("http://mixed.example/hook", "loopback"),  # one public and one loopback address
    ("ftp://crm.example/hook", "not an http(s) URL"),
    ("file:///etc/passwd", "not an http(s) URL"),
    ("http://admin:hunter2@crm.example/hook", "user name or password"),
    ("http://crm.example\\@127.0.0.1/hook", "backslash"),
    ("http://crm.example:99999/hook", "not a TCP port"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_refused_when_saved(dns: FakeDNS, url: str, why: str) -> None:
    dns.names["internal.example"] = ["10.0.0.7"]
    dns.names["mixed.example"] = [PUBLIC, "127.0.0.1"]
    dns.names["crm.example"] = [PUBLIC]
    with pytest.raises(Invalid) as refused:
        outbound.check_url(url)
    assert why in refused.value.detail


def test_public_urls_and_names_not_resolving_yet_are_accepted(dns: FakeDNS) -> None:
    dns.names["crm.dealer.example"] = [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert outbound.check_url(" https://crm.dealer.example/paddock ") == (
        "https://crm.dealer.example/paddock"
    )
    assert outbound.check_url(f"http://{PUBLIC}:8080/x?y=1") == f"http://{PUBLIC}:8080/x?y=1"
    # Not resolving now: saved, and checked when sent (where it fails or is refused).
    assert outbound.check_url("https://not-yet.example/hook")


def test_allow_private_lets_a_local_receiver_in_but_not_the_rest() -> None:
    for url in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook"):
        assert outbound.check_url(url, allow_private=True) == url
    for url in ("http://user:pw@127.0.0.1/", "ftp://127.0.0.1/", "http://0x7f.1/"):
        with pytest.raises(Invalid):
            outbound.check_url(url, allow_private=True)


def test_refused_over_http_with_a_problem_saying_why(
    client: TestClient, session: Session, dns: FakeDNS
) -> None:
    make_world(session)
    make_dealer(session)
    sign_in(client, session, "dealer", dealer="D-ATL-001")
    path = "/api/v1/dealers/D-ATL-001/webhook"
    for url, why in (
        ("http://169.254.169.254/latest/meta-data/iam/", "a cloud metadata address"),
        ("http://[::1]:8000/", "a loopback address"),
        ("http://2130706433/", "127.0.0.1 written in an unusual form"),
    ):
        answer = client.put(path, json={"url": url})
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert why in answer.json()["detail"]
    assert client.get(path).status_code == 404  # nothing saved
    assert session.scalar(select(WebhookEndpoint)) is None
    dns.names["crm.dealer.example"] = [PUBLIC]
    saved = client.put(path, json={"url": "https://crm.dealer.example/paddock"})
    assert saved.status_code == 200 and saved.json()["url"] == "https://crm.dealer.example/paddock"


def test_cli_refuses_unless_the_setting_allows_private(
    session: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_world(session)
    make_dealer(session)
    run = runner_for(database_url)
    refused = run("webhooks", "set", "D-ATL-001", "http://127.0.0.1:9/hook")
    assert refused.exit_code != 0
    assert isinstance(refused.exception, Invalid) and "loopback" in str(refused.exception)
    monkeypatch.setenv("PADDOCK_WEBHOOK_ALLOW_PRIVATE", "true")
    made = run("webhooks", "set", "D-ATL-001", "http://127.0.0.1:9/hook")
    assert made.exit_code == 0 and "secret (shown once)" in made.output


def _pending_event(session: Session, receiver: Receiver, url: str) -> int:
    """A confirmed booking of the dealer's, its event queued for an endpoint at `url` (saved
    as it was, whatever it is: an endpoint from before the check, or one that has changed)."""
    make_world(session, cars=3, coaches=3)
    dealer = make_dealer(session)
    webhooks.set_endpoint(session, dealer_id=dealer.id, url=url, secret=SECRET, allow_private=True)
    visit(session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer.id)
    return dealer.id


def _last_event(session: Session) -> WebhookEvent:
    session.rollback()
    event = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id.desc())).first()
    assert event is not None
    return event


def test_a_private_endpoint_saved_earlier_is_refused_at_send(
    session: Session, receiver: Receiver
) -> None:
    _pending_event(session, receiver, receiver.url)
    report = webhooks.dispatch(session)  # the default: private addresses refused
    assert (report.claimed, report.failed, report.delivered) == (1, 1, 0)
    assert receiver.requests == 0  # no connection was made
    event = _last_event(session)
    assert event.last_status_code is None
    assert "'127.0.0.1' is a loopback address" in event.last_error


def test_dns_rebinding_after_save_is_refused_at_send(
    session: Session, receiver: Receiver, dns: FakeDNS
) -> None:
    make_world(session, cars=3, coaches=3)
    dealer = make_dealer(session)
    url = f"http://crm.rebind.example:{receiver.port}/paddock"
    dns.names["crm.rebind.example"] = [PUBLIC]
    webhooks.set_endpoint(session, dealer_id=dealer.id, url=url, secret=SECRET)  # public: saved
    dns.names["crm.rebind.example"] = ["127.0.0.1"]  # and now the name points inside
    visit(session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer.id)
    assert webhooks.dispatch(session).failed == 1
    assert receiver.requests == 0
    assert "'crm.rebind.example' resolves to a loopback address" in _last_event(session).last_error


def test_the_connection_goes_to_the_checked_address_with_the_dealers_host_name(
    session: Session,
    receiver: Receiver,
    dns: FakeDNS,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name resolves only through the checking resolver (the system's knows nothing of
    it), once per connection: a delivery proves the socket went to the checked address, and
    the Host header is still the dealer's name."""
    make_world(session, cars=3, coaches=3)
    dealer = make_dealer(session)
    url = f"http://crm.pinned.example:{receiver.port}/paddock"
    dns.names["crm.pinned.example"] = [PUBLIC]
    webhooks.set_endpoint(session, dealer_id=dealer.id, url=url, secret=SECRET)
    dns.names["crm.pinned.example"] = ["127.0.0.1"]
    monkeypatch.setattr(outbound, "refusal", lambda address: None)  # as if 127.0.0.1 were public
    dns.asked.clear()
    visit(session, email="ann@example.com", day=MONDAY, outcome="confirmed", dealer_id=dealer.id)
    assert webhooks.dispatch(session).delivered == 1
    assert receiver.hosts == [f"crm.pinned.example:{receiver.port}"]
    assert dns.asked == ["crm.pinned.example"]


def test_redirects_are_not_followed_and_the_answer_is_not_shown(
    session: Session, client: TestClient, receiver: Receiver
) -> None:
    _pending_event(session, receiver, receiver.url)
    receiver.status = 302
    assert webhooks.dispatch(session, allow_private=True).failed == 1
    assert receiver.requests == 1  # the Location was not followed
    assert _last_event(session).last_error == "HTTP 302 Found (redirects are not followed)"
    receiver.status, receiver.answer = 500, b"root:x:0:0:root:/root:/bin/bash"
    webhooks.replay(session, all_dead=False, event_ids=[_last_event(session).id])
    assert webhooks.dispatch(session, allow_private=True).failed == 1
    event = _last_event(session)
    assert event.last_error == "HTTP 500 Internal Server Error"
    log = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert all("root:" not in a.error for a in log)
    # An attempt logged before the fix kept the answer's first 500 characters: not shown.
    log[-1].error = "root:x:0:0:root:/root:/bin/bash"
    event.last_error = "root:x:0:0:root:/root:/bin/bash"
    session.commit()
    sign_in(client, session, "dealer", dealer="D-ATL-001")
    shown = client.get(f"/api/v1/dealers/D-ATL-001/webhook/events/{event.id}")
    assert shown.status_code == 200, shown.text
    assert "root:" not in shown.text
    assert shown.json()["last_error"] == "HTTP 500 Internal Server Error"
    assert shown.json()["log"][-1]["error"] == "HTTP 500 Internal Server Error"
