"""The client's address and scheme (paddock/clients.py): X-Forwarded-For and -Proto believed
from the proxies PADDOCK_TRUSTED_PROXIES names and nobody else; `paddock serve` gives uvicorn
the same list, and no `server` banner."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request
from typer.testing import CliRunner

from paddock import cli
from paddock.clients import address_key, client_address, is_https, secure_cookies
from paddock.settings import get_settings
from paddock.web import assets


def request(peer: str, *, proxies: str = "", environment: str = "test", **headers: str) -> Request:
    settings = SimpleNamespace(trusted_proxies=proxies, environment=environment)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "scheme": "http",
        "server": ("paddock.test", 80),
        "client": (peer, 50000),
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
        "app": app,
    }
    return Request(scope)


def test_forwarded_headers_are_ignored_without_trusted_proxies() -> None:
    spoofed = request("127.0.0.1", X_Forwarded_For="198.51.100.1", X_Forwarded_Proto="https")
    assert client_address(spoofed) == "127.0.0.1"
    assert not is_https(spoofed) and not secure_cookies(spoofed)


def test_the_right_most_untrusted_address_is_the_client() -> None:
    proxies = "10.0.0.0/8, 192.0.2.1"
    chain = "203.0.113.66, 198.51.100.7:4711, 192.0.2.1"
    assert client_address(request("10.0.0.5", proxies=proxies, X_Forwarded_For=chain)) == (
        "198.51.100.7"
    )
    # From a peer that is not a trusted proxy the header proves nothing.
    assert client_address(request("203.0.113.1", proxies=proxies, X_Forwarded_For=chain)) == (
        "203.0.113.1"
    )
    # Every entry a trusted proxy: the left-most; no header: the proxy itself; junk: the proxy.
    assert client_address(request("10.0.0.5", proxies=proxies, X_Forwarded_For="10.1.1.1")) == (
        "10.1.1.1"
    )
    assert client_address(request("10.0.0.5", proxies=proxies)) == "10.0.0.5"
    junk = request("10.0.0.5", proxies=proxies, X_Forwarded_For="1.2.3.4, not-an-address")
    assert client_address(junk) == "10.0.0.5"
    ipv6 = request("10.0.0.5", proxies=proxies, X_Forwarded_For="[2001:db8::1]:443")
    assert client_address(ipv6) == "2001:db8::1"


def test_tls_from_a_trusted_proxy_and_production() -> None:
    behind = request("10.0.0.5", proxies="10.0.0.0/8", X_Forwarded_Proto="https")
    assert is_https(behind) and secure_cookies(behind)
    assert secure_cookies(request("127.0.0.1", environment="production"))


def test_ipv6_clients_count_by_their_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_key("198.51.100.7") == "198.51.100.7"
    assert address_key("testclient") == "testclient"


@pytest.mark.parametrize(("proxies", "headers"), [("", False), ("10.0.0.0/8", True)])
def test_serve_trusts_only_the_configured_proxies(
    monkeypatch: pytest.MonkeyPatch, proxies: str, headers: bool, sqlite_url: str
) -> None:
    called: dict[str, Any] = {}
    monkeypatch.setenv("PADDOCK_TRUSTED_PROXIES", proxies)
    monkeypatch.setenv("PADDOCK_DATABASE_URL", sqlite_url)  # serve checks the schema first
    get_settings.cache_clear()
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: called.update(kwargs))
    monkeypatch.setattr(assets.registry, "warm", lambda: None)
    monkeypatch.setattr(assets.registry, "cache", assets.registry.cache)  # serve sets it
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--workers", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert called["proxy_headers"] is headers
    assert called["forwarded_allow_ips"] == proxies  # never uvicorn's default of 127.0.0.1
    assert called["server_header"] is False
