"""Who is knocking: the first X-Forwarded-For hop (the client, as the edge proxy saw it) or the peer address.

On Vercel the edge overwrites X-Forwarded-For with the real client address, so the first hop cannot be forged
there. Behind a proxy that appends instead, a client could rotate it; the global attempt cap in
shared/auth/lockout.py bounds what that buys.
"""

from __future__ import annotations

import ipaddress


def client_id(forwarded_for: str | None, peer: str | None) -> str:
    if forwarded_for:
        first = _normalise(forwarded_for.split(",")[0])
        if first:
            return first
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
