"""SSRF guard: refuse URLs that resolve to addresses inside our network.

Two layers. Every outbound fetch of a user- or feed-supplied URL (feeds, images, article pages, channel pages)
is checked by `resolve_public` before each request, including every redirect hop (clear error messages). And
the HTTP client's network backend (`GuardedBackend`) resolves and checks again when it opens a connection, then
connects to exactly the address it checked: a DNS answer that changes between check and connect (rebinding)
cannot reach an internal address. The URL keeps its hostname, so TLS SNI, certificate checks and the connection
pool (keyed by hostname, safe for CDNs that share IPs) behave normally.

Refused: loopback, private (RFC 1918, ULA), link-local (incl. the 169.254.169.254 / fd00:ec2::254 metadata
endpoints), carrier-grade NAT, multicast, reserved, unspecified, and IPv4-mapped forms of these. Allowed only
when `Config.allow_private_network_fetch` is set (tests and `make dev`, whose fakes run on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class BlockedURL(Exception):
    """The URL is not allowed (scheme, credentials, or an internal address)."""


@dataclass(frozen=True)
class Target:
    url: str  # the original URL
    host: str
    ip: str  # the checked address


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
    _check_host_name(host)
    return host, parts.scheme, port or (443 if parts.scheme == "https" else 80)


def _check_host_name(host: str) -> None:
    """A host the resolver (stdlib IDNA 2003) and the HTTP client (httpx: IDNA 2008) can both encode; anything
    else (an empty label, a control character, a code point IDNA forbids) is a bad URL, not a crash."""
    if _literal(host) is not None:
        return
    try:
        host.encode("idna")
        if not host.isascii():
            import idna

            idna.encode(host, uts46=True)
    except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
        raise BlockedURL(f"invalid host name in URL: {host[:100]!r}") from exc


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
        if str(sockaddr[0]) not in seen:
            seen.append(str(sockaddr[0]))
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
    return Target(url=url, host=host, ip=ip)


async def resolve_host(host: str, port: int, allow_private: bool) -> str:
    """The checked address to connect to for host:port (raises BlockedURL)."""
    lit = _literal(host)
    if lit:
        return check_addresses(host, [lit], allow_private)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedURL(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    addresses: list[str] = []
    for *_, sockaddr in infos:
        if str(sockaddr[0]) not in addresses:
            addresses.append(str(sockaddr[0]))
    addresses.sort(key=lambda a: ":" in a)
    return check_addresses(host, addresses, allow_private)


async def resolve_public(url: str, allow_private: bool) -> Target:
    host, _, port = split_url(url)
    ip = await resolve_host(host, port, allow_private)
    return Target(url=url, host=host, ip=ip)


def guarded_backend(allow_private: bool):
    """An httpcore network backend that connects only to checked addresses."""
    import httpcore

    class GuardedBackend(httpcore.AsyncNetworkBackend):
        def __init__(self) -> None:
            self._inner = httpcore.AnyIOBackend()

        async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            ip = await resolve_host(host, port, allow_private)
            return await self._inner.connect_tcp(ip, port, timeout=timeout, local_address=local_address,
                                                 socket_options=socket_options)

        async def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise BlockedURL("unix sockets are not fetched")

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return GuardedBackend()


def resolve_host_sync(host: str, port: int, allow_private: bool) -> str:
    """`resolve_host` for synchronous clients (the publishing engine reads media with a sync client)."""
    lit = _literal(host)
    if lit:
        return check_addresses(host, [lit], allow_private)
    try:
        addresses = _getaddrinfo(host, port)
    except socket.gaierror as exc:
        raise BlockedURL(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    return check_addresses(host, addresses, allow_private)


def guarded_sync_backend(allow_private: bool):
    """`guarded_backend` for httpcore's synchronous connection pool."""
    import httpcore

    class GuardedSyncBackend(httpcore.NetworkBackend):
        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            ip = resolve_host_sync(host, port, allow_private)
            return self._inner.connect_tcp(ip, port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise BlockedURL("unix sockets are not fetched")

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return GuardedSyncBackend()
