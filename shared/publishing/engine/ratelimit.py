"""Rate-limit memory in Redis (Mixpost's pattern, field-notes §1.2): the reset time per platform (app-wide
limits) and per account, with a TTL equal to the time left, so an expired limit costs nothing to forget.

Budget: one MGET per publication run (both keys), one SET per 429 seen.
"""

from __future__ import annotations

import time


def _keys(family: str, account_id: str | None) -> list[str]:
    return [f"pub:rl:platform:{family}", f"pub:rl:account:{family}:{account_id or '-'}"]


def blocked_until(family: str, account_id: str | None, now: float | None = None) -> float | None:
    from shared.redis_client import get_redis

    now = time.time() if now is None else now
    values = get_redis().mget(*_keys(family, account_id))
    resets = [float(v) for v in values if v]
    latest = max(resets) if resets else None
    return latest if latest and latest > now else None


def remember(family: str, account_id: str | None, reset_at: float, scope: str, now: float | None = None) -> None:
    from shared.redis_client import get_redis

    now = time.time() if now is None else now
    ttl = max(1, int(reset_at - now) + 1)
    key = _keys(family, account_id)[0 if scope == "platform" else 1]
    get_redis().set(key, f"{reset_at:.3f}", ex=ttl)
