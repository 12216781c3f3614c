"""Where webhooks may go: public addresses only, checked when a URL is saved and again at every
connection (server-side request forgery through a dealer's URL).

A URL is refused when its host is, or resolves to, a loopback, private, link-local, multicast,
reserved, unspecified or cloud-metadata address (IPv4 or IPv6, IPv4 inside IPv6 included), when
it names `localhost`, writes an IPv4 address in a form other than a.b.c.d (`2130706433`,
`0x7f.1`: resolvers read these differently), carries credentials, or is not http(s).

At send time the client's network backend resolves the host once, checks every address, and
connects only to a checked one (the URL keeps its host name, so the Host header, TLS SNI and
certificate check are the dealer's name): a name that resolved to a public address when saved
and to 127.0.0.1 since (DNS rebinding) is refused. Redirects are never followed, proxies from
the environment are ignored. `PADDOCK_WEBHOOK_ALLOW_PRIVATE` lifts the address checks for a
local receiver in development and tests."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from paddock.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata and platform services outside the private ranges: AWS (IPv4 and
# IPv6, ECS task metadata), GCP, Azure, OpenStack (169.254.169.254), Alibaba, Oracle.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "168.63.129.16",
        "100.100.100.200",
        "192.0.0.192",
    )
)
LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "localdomain"}
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
PUBLIC_ONLY = "webhooks go to public addresses only"


class AddressRefused(httpcore.ConnectError):
    """Raised instead of connecting: the host is, or resolves to, an address not allowed."""


class Unresolvable(httpcore.ConnectError):
    """The host name does not resolve (now)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (the system resolver). Tests replace it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: Address) -> str | None:
    """Why webhooks may not go to this address, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and (why := refusal(inner)):
            return why
        address = address.ipv4_mapped or address
    checks = (
        (address in METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


def check_url(url: str, *, allow_private: bool = False) -> str:
    """The URL to save, or Invalid naming why it is refused. A host name that does not resolve
    now is accepted (its addresses are checked at every send)."""
    clean = url.strip()
    if len(clean) > 500:
        raise Invalid("The webhook URL is at most 500 characters.")
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in clean):
        raise Invalid("The webhook URL has spaces, control characters or a backslash in it.")
    try:
        parsed = httpx.URL(clean)
    except httpx.InvalidURL as exc:
        raise Invalid(f"'{clean}' is not a valid URL: {exc}.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Invalid(f"'{clean}' is not an http(s) URL for the webhook endpoint.")
    if parsed.userinfo:
        raise Invalid(
            "The webhook URL may not carry a user name or password; receivers check the "
            "Paddock-Signature header instead."
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise Invalid(f"Port {parsed.port} is not a TCP port (1-65535).")
    host = parsed.raw_host.decode("ascii")
    try:
        if not allow_private:
            vet(host, parsed.port or (443 if parsed.scheme == "https" else 80))
        else:
            _literal(host)  # odd IPv4 forms are refused all the same
    except AddressRefused as refused:
        raise Invalid(f"The webhook URL is refused: {refused}.") from None
    except Unresolvable:
        pass
    return clean


def vet(host: str, port: int, *, rule: str = PUBLIC_ONLY) -> list[str]:
    """The host's addresses, each checked; AddressRefused if any is not allowed (a name with
    one private address among public ones is refused: the resolver may hand out either).
    `rule` ends the refusal's text (mail's SMTP server is checked here too)."""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        name = host.lower().rstrip(".")
        if name in LOCAL_NAMES or name.endswith(".localhost"):
            raise AddressRefused(f"'{host}' names this machine (localhost); {rule}")
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise Unresolvable(f"'{host}' does not resolve: {exc}") from None
        if not addresses:
            raise Unresolvable(f"'{host}' does not resolve")
    for address in addresses:
        why = refusal(address)
        if why is not None:
            shown = f"'{host}' is {why}" if literal else f"'{host}' resolves to {why}"
            raise AddressRefused(f"{shown}; {rule}")
    return [str(a) for a in addresses]


def _literal(host: str) -> Address | None:
    """The address a host written as an IP address means; AddressRefused for IPv4 written
    other than as a.b.c.d (decimal, octal, hex or shortened), which resolvers accept."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)
    except (OSError, UnicodeError, ValueError):
        return None
    raise AddressRefused(
        f"'{host}' is the IPv4 address {ipaddress.IPv4Address(packed)} written in an unusual "
        "form; write it as a.b.c.d"
    )


class _VettingBackend(httpcore.SyncBackend):
    """Resolves once, checks every address, connects to a checked one."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in vet(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # next address, as the resolver's order says
                failure = exc
        assert failure is not None
        raise failure


class WebhookTransport(httpx.HTTPTransport):
    """httpx's transport with the vetting backend (httpx does not take a network backend, so
    the connection pool is made again with it; a test sending to 127.0.0.1 proves it)."""

    def __init__(self, *, allow_private: bool = False) -> None:
        super().__init__(trust_env=False)
        if not allow_private:
            if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
                raise RuntimeError("httpx changed: the webhook address check cannot be installed")
            self._pool = httpcore.ConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False),
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=5.0,
                network_backend=_VettingBackend(),
            )


def client(*, allow_private: bool = False, timeout: float = 10.0) -> httpx.Client:
    """The HTTP client webhooks are sent with: checked addresses, no redirects, no proxies."""
    return httpx.Client(
        transport=WebhookTransport(allow_private=allow_private),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
