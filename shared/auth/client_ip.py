"""Who is knocking: the X-Forwarded-For entry written by our own outermost proxy, or the peer address.

Only entries appended by proxies we run are trustworthy; anything to their left was sent by the client.
`trusted_hops` (FORWARDED_FOR_TRUSTED_HOPS, default 1) says how many proxies append: the client address is the
entry that many places from the right. Vercel's edge overwrites the header with the client address (one entry)
and API Gateway appends the caller's address, so 1 is right for both; 0 ignores the header.
"""

from __future__ import annotations

import ipaddress


def client_id(forwarded_for: str | None, peer: str | None, trusted_hops: int = 1) -> str:
    if forwarded_for and trusted_hops > 0:
        hops = forwarded_for.split(",")
        chosen = _normalise(hops[max(0, len(hops) - trusted_hops)])
        if chosen:
            return chosen
        if forwarded_for.strip():
            return "unknown"  # an empty hop where the client should be never falls through to a shared peer
    return _normalise(peer or "") or "unknown"


def _normalise(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("[") and "]" in raw:  # [v6]:port
        raw = raw[1:raw.index("]")]
    elif raw.count(":") == 1:  # v4:port
        raw = raw.split(":")[0]
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        # not an address (a proxy's obfuscated token): keep it bounded and printable, it only names a counter
        return "".join(ch for ch in raw if ch.isprintable() and not ch.isspace())[:64]
