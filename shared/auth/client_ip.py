"""Who is knocking: the client address the deployment vouches for, never one the client chose.

A forwarded header is only as honest as whoever wrote it last. The deployment declares who that is:
- `CLIENT_IP_HEADER`: a header the platform's edge sets itself on every request, whose first entry is the
  client. On Vercel (the platform sets VERCEL=1 in every function) this defaults to `x-vercel-forwarded-for`:
  Vercel's request-headers reference (https://vercel.com/docs/headers/request-headers) says its edge overwrites
  `X-Forwarded-For` with the public IP of the client and does not forward external values ("to prevent IP
  spoofing"), and that `x-vercel-forwarded-for` carries the same value but, unlike `x-forwarded-for`, is not
  replaced when another proxy sits in front of Vercel.
- `TRUSTED_PROXIES`: addresses/CIDRs of proxies we run. Only when the connection comes from one of them is
  `X-Forwarded-For` read, right to left, skipping our own proxies; the first other address is the client.
- neither: the connection's peer address (AWS API Gateway through Mangum puts the caller's source IP there).
A client can therefore never pick its own counter by sending X-Forwarded-For.

IPv6 clients are counted per /64: one subscriber line usually owns a whole /64 and could otherwise rotate
through billions of addresses, each with a fresh lockout counter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> list[Network]:
    out: list[Network] = []
    for raw in filter(None, (p.strip() for p in spec.split(","))):
        out.append(ipaddress.ip_network(raw, strict=False))
    return out


def client_id(headers: Mapping[str, str], peer: str | None, *, header: str = "",
              trusted_proxies: Iterable[Network] = ()) -> str:
    """`headers` with lower-case names. Pure."""
    proxies = list(trusted_proxies)
    if header:
        entries = [e for e in (headers.get(header.lower()) or "").split(",") if e.strip()]
        if entries:
            return _counter_key(entries[0])
        return _counter_key(peer or "")
    peer_ip = _address(peer or "")
    if peer_ip is not None and _trusted(peer_ip, proxies) and headers.get("x-forwarded-for"):
        hops = [h for h in headers["x-forwarded-for"].split(",") if h.strip()]
        for hop in reversed(hops):
            ip = _address(hop)
            if ip is None:
                return _counter_key(hop)  # garbage written where a client address should be: its own counter
            if not _trusted(ip, proxies):
                return _counter_key(hop)
        if hops:
            return _counter_key(hops[0])
    return _counter_key(peer or "")


def _trusted(ip, proxies: list[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in proxies)


def _strip_port(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:  # [v6]:port
        return raw[1:raw.index("]")]
    if raw.count(":") == 1:  # v4:port
        return raw.split(":")[0]
    return raw


def _address(raw: str):
    try:
        return ipaddress.ip_address(_strip_port(raw))
    except ValueError:
        return None


def _counter_key(raw: str) -> str:
    ip = _address(raw)
    if ip is None:
        # not an address (a proxy's obfuscated token): keep it bounded and printable, it only names a counter
        cleaned = "".join(ch for ch in raw if ch.isprintable() and not ch.isspace())[:64]
        return cleaned or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def from_request(request) -> str:
    """The client of a Starlette request, as this deployment declares it (shared/config.py)."""
    from shared.config import get_config

    cfg = get_config()
    headers = {k.lower(): v for k, v in request.headers.items()}
    return client_id(headers, request.client.host if request.client else None,
                     header=cfg.effective_client_ip_header, trusted_proxies=_proxies(cfg.trusted_proxies))


@lru_cache(maxsize=4)
def _proxies(spec: str) -> tuple[Network, ...]:
    return tuple(parse_networks(spec))
