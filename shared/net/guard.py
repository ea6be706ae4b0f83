"""SSRF guard: refuse URLs that resolve to addresses inside our network.

Every outbound fetch of a user- or feed-supplied URL (feeds, images, article pages, channel pages) goes through
`resolve_public`, and again for each redirect hop. The request is then sent to the address that was checked
(DNS pinning: the URL's host is replaced by the IP, Host and TLS SNI keep the name), so a DNS answer that
changes between the check and the connect (rebinding) cannot reach an internal address.

Refused: loopback, private (RFC 1918, ULA), link-local (incl. the 169.254.169.254 / fd00:ec2::254 metadata
endpoints), carrier-grade NAT, multicast, reserved, unspecified, and IPv4-mapped forms of these. Allowed only
when `Config.allow_private_network_fetch` is set (tests and `make dev`, whose fakes run on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class BlockedURL(Exception):
    """The URL is not allowed (scheme, credentials, or an internal address)."""


@dataclass(frozen=True)
class Target:
    url: str  # the original URL
    host: str
    ip: str
    pinned_url: str  # the URL with the host replaced by the checked IP


def _is_forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return _is_forbidden(mapped)
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def split_url(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"invalid URL: {url[:200]}") from exc
    if parts.scheme not in ("http", "https"):
        raise BlockedURL(f"only http and https URLs can be fetched, not {parts.scheme or 'a relative URL'}")
    if parts.username or parts.password:
        raise BlockedURL("URLs with credentials are not fetched")
    host = parts.hostname or ""
    if not host:
        raise BlockedURL("URL has no host")
    return host, parts.scheme, port or (443 if parts.scheme == "https" else 80)


def _pin(url: str, ip: str) -> str:
    parts = urlsplit(url)
    host = f"[{ip}]" if ":" in ip else ip
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def check_addresses(host: str, addresses: list[str], allow_private: bool) -> str:
    if not addresses:
        raise BlockedURL(f"{host} does not resolve")
    if allow_private:
        return addresses[0]
    for a in addresses:
        if _is_forbidden(ipaddress.ip_address(a.split("%", 1)[0])):
            raise BlockedURL(f"{host} resolves to a non-public address ({a}); refused")
    return addresses[0]


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in seen:
            seen.append(sockaddr[0])
    # prefer IPv4: many hosts publish AAAA records that this runtime cannot route
    return sorted(seen, key=lambda a: ":" in a)


def resolve_public_sync(url: str, allow_private: bool) -> Target:
    host, _, port = split_url(url)
    lit = _literal(host)
    try:
        addresses = [lit] if lit else _getaddrinfo(host, port)
    except socket.gaierror as exc:
        raise BlockedURL(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    ip = check_addresses(host, addresses, allow_private)
    return Target(url=url, host=host, ip=ip, pinned_url=_pin(url, ip))


async def resolve_public(url: str, allow_private: bool) -> Target:
    host, _, port = split_url(url)
    lit = _literal(host)
    if lit:
        return resolve_public_sync(url, allow_private)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedURL(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    addresses: list[str] = []
    for *_, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    addresses.sort(key=lambda a: ":" in a)
    ip = check_addresses(host, addresses, allow_private)
    return Target(url=url, host=host, ip=ip, pinned_url=_pin(url, ip))
