"""Who is calling, as far as the network can tell: the client's address and whether it came
over TLS, believing `X-Forwarded-For` / `X-Forwarded-Proto` only from a trusted proxy.

PADDOCK_TRUSTED_PROXIES names the proxies (IPs or CIDRs, comma-separated; none by default).
When the peer of the connection is one of them, the client is the right-most address of
`X-Forwarded-For` that is not a trusted proxy: each proxy appends the address it was reached
from, so everything left of that entry was written by the client and proves nothing. From
any other peer the headers are ignored, whatever they say. Every throttle keys on
`client_address` (through `address_key`); `paddock serve` gives uvicorn the same list.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# A client with IPv6 usually holds a whole /64: throttles count the /64, not each address.
IPV6_PREFIX = 64


@lru_cache(maxsize=16)
def parse_networks(text: str) -> tuple[Network, ...]:
    """The trusted proxies of the setting; ValueError names an entry that is not an IP/CIDR."""
    networks = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"PADDOCK_TRUSTED_PROXIES: '{entry}' is not an IP address or network (CIDR)"
            ) from None
    return tuple(networks)


def _trusted(settings_text: str) -> tuple[Network, ...]:
    return parse_networks(settings_text) if settings_text else ()


def _is_trusted(host: str, networks: tuple[Network, ...]) -> bool:
    ip = _ip(host)
    return ip is not None and any(ip in net for net in networks)


@lru_cache(maxsize=4096)
def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _forwarded_host(entry: str) -> str:
    """One X-Forwarded-For entry without a port: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678`."""
    entry = entry.strip()
    if entry.startswith("["):
        return entry[1 : entry.find("]")] if "]" in entry else entry
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def peer_address(request: Request) -> str:
    return request.client.host if request.client else ""


def client_address(request: Request) -> str:
    """The caller's address: the peer, or behind a trusted proxy the right-most untrusted
    address of X-Forwarded-For (the left-most when every entry is a trusted proxy)."""
    peer = peer_address(request)
    networks = _trusted(request.app.state.settings.trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hosts = [_forwarded_host(e) for e in forwarded.split(",") if e.strip()]
    for host in reversed(hosts):
        if _ip(host) is None:
            return peer  # not an address: a proxy that passes junk on proves nothing
        if not _is_trusted(host, networks):
            return host
    return hosts[0] if hosts else peer


def address_key(address: str) -> str:
    """What throttles count: an IPv4 address, the /64 of an IPv6 address, else the text."""
    return _address_key(address[:100])


@lru_cache(maxsize=4096)
def _address_key(address: str) -> str:
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip) if ip is not None else address


def is_https(request: Request) -> bool:
    """The request came over TLS: its own scheme, or X-Forwarded-Proto from a trusted proxy."""
    if request.url.scheme == "https":
        return True
    networks = _trusted(request.app.state.settings.trusted_proxies)
    if not networks or not _is_trusted(peer_address(request), networks):
        return False
    proto = request.headers.get("x-forwarded-proto", "")
    return proto.split(",")[-1].strip().lower() == "https"


def secure_cookies(request: Request) -> bool:
    """Cookies carry `Secure` in production always, elsewhere when the request came over TLS."""
    return request.app.state.settings.environment == "production" or is_https(request)
