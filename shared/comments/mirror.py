"""What a comment poll needs to look for new comments without the database: a Redis copy, and the look itself.

A full poll (shared/comments/service.py) reads settings, connections, poll state, the read ledger and our recent
posts from Postgres, then the platforms, then stores, filters and replies. Run every 10 minutes that would keep
Neon awake all day. Most polls find nothing new, so the dispatcher's `comments.poll` first *peeks*: it reads the
platforms with what this copy holds, and only when something is new (or the copy cannot do, see `peek`) does the
full poll run, in a database window.

    comments:mirror  all -> {"built": epoch, "full": epoch of the last full poll,
                             "platforms": {p: {"account", "username", "metadata", "token", "extra", "expires",
                                               "posts": [[post id, published epoch]], "since": epoch,
                                               "cursor": {...}, "budget": units left, "period": ledger period,
                                               "unbilled": units the peeks spent since}}}

- Built from Postgres in windows that are open anyway: after each full poll and by `comments.sync`, which joins
  every window (posts are published in windows, so the copy knows them from the window that published them; a
  post published by hand is known from the next window).
- Tokens stay encrypted with the app's key (the same blob `platform_connections` holds, bound to its platform and
  account); they are decrypted in the process only. A token that expires within TOKEN_MARGIN is not used: the full
  poll refreshes it.
- A connection that changes (disconnected, connected again, keys rotated: `forget`) drops the copy at once and
  rebuilds the switch, so no peek reads a disconnected account and no token outlives its row in Redis; the next
  peek finds no copy and asks for a full poll, which builds it again. A copy nobody rebuilds expires
  (shared/comments/timing.py COPY_TTL_SECONDS), and one with nothing ready is deleted by the rebuild.
- The read units a peek spends are counted in the usage meter at once and charged to the read ledger
  (`comment_usage`) by the next full poll or sync, before the copy is rebuilt.
- A peek reads from the last full poll's time, without the full poll's 10-minute overlap: a comment that surfaces
  late in a platform's API (timestamped before that poll) is found by the next full poll, which runs at least
  every FULL_POLL_SECONDS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

log = logging.getLogger("screndly.comments.mirror")

MIRROR_KEY = "comments:mirror"
TOKEN_MARGIN = 600.0
FULL_POLL_SECONDS = 6 * 3600


def _epoch(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt else None


def build(now: datetime, unbilled: dict[str, Any] | None = None) -> dict[str, Any]:
    """From Postgres (a window is open): charge what peeks spent, then the copy for every ready platform."""
    from shared.comments import caps, repo, switch
    from shared.comments.config import SETTING_KEYS, CommentSettings
    from shared.db import connection
    from shared.settings.store import read_settings

    with connection() as c:
        for p, spent in (unbilled or {}).items():
            for period, n in (spent or {}).items():
                repo.charge(c, p, caps.READ_UNIT[p], period, int(n))
        cs = CommentSettings.from_settings(read_settings(SETTING_KEYS, conn=c))
        conns = repo.connections(c)
        state = switch.state_from(cs, conns, now.timestamp())
        states = repo.poll_states(c)
        rows = {r["platform"]: r for r in c.execute(
            "SELECT platform, account_id, username, metadata, access_token_enc, extra_secrets_enc, expires_at "
            "FROM platform_connections WHERE platform = ANY(%s)", (state["platforms"],)).fetchall()}
        out: dict[str, Any] = {}
        for p in state["platforms"]:
            row = rows.get(p)
            if row is None:
                continue
            unit = caps.READ_UNIT[p]
            period = caps.period(unit, now)
            used = repo.used(c, p, unit, period)
            horizon = now - timedelta(hours=cs.rules(p).post_age_hours)
            posts = repo.recent_posts(c, p, horizon)
            st = states.get(p) or {}
            out[p] = {"account": row["account_id"], "username": row["username"],
                      "metadata": dict(row["metadata"] or {}), "token": row["access_token_enc"],
                      "extra": row["extra_secrets_enc"], "expires": _epoch(row["expires_at"]),
                      "ageHours": cs.rules(p).post_age_hours,
                      "posts": [[x.post_id, x.published_at.timestamp()] for x in posts],
                      "since": _epoch(st.get("last_polled_at")), "cursor": dict(st.get("cursor") or {}),
                      "budget": caps.read_budget_left(p, cs, used), "period": period, "unbilled": {}}
    return {"built": now.timestamp(), "platforms": out}


def forget(platform: str | None = None) -> None:
    """A connection changed (`platform`, or every one: keys rotated). Rebuild the switch (peeks stop reading a
    platform no longer ready), charge what the peeks spent to the read ledger, and delete the copy with its
    tokens. Never raises: the connection change stands whatever Redis says (the copy expires on its own)."""
    import json

    from shared.comments import caps, repo, switch
    from shared.db import connection
    from shared.redis_client import get_redis

    try:
        switch.rebuild()
        r = get_redis()
        raw = r.hget(MIRROR_KEY, "all")
        copy = json.loads(raw) if raw else {}
        with connection() as c:
            for p, e in (copy.get("platforms") or {}).items():
                for period, n in (e.get("unbilled") or {}).items():
                    repo.charge(c, p, caps.READ_UNIT[p], period, int(n))
        r.delete(MIRROR_KEY)
    except Exception:
        log.warning("could not drop the comment poll's copy after a change to %s", platform or "the connections",
                    exc_info=True)


@dataclass
class Peek:
    full: bool  # the full poll must run (something new, or the copy cannot do)
    reasons: list[str] = field(default_factory=list)
    read: int = 0  # platforms read


def _account(p: str, e: dict[str, Any]):
    from shared.publishing.adapters.base import Account
    from shared.publishing.connections.store import _aad, _box

    box = _box()
    token = box.decrypt(e["token"], _aad(p, e["account"], "access"))
    import json

    extra = json.loads(box.decrypt(e["extra"], _aad(p, e["account"], "extra"))) if e.get("extra") else {}
    return Account(platform=p, account_id=e["account"], access_token=token, username=e.get("username"),
                   metadata=e.get("metadata") or {}, extra=extra)


def peek(mirror: dict[str, Any] | None, platforms: list[str], now: float) -> Peek:
    """Read the platforms with the copy (no database). Updates `mirror` in place (units spent, per period)."""
    from shared.comments import caps, fetch
    from shared.comments.fetch.base import PostRef, ReadContext
    from shared.publishing.engine import ratelimit
    from shared.publishing.engine.errors import PublishError

    if not mirror or not mirror.get("platforms"):
        return Peek(True, ["no copy of the poll's state yet"])
    if now - float(mirror.get("full") or 0) >= FULL_POLL_SECONDS:
        return Peek(True, ["a full poll is due (late comments, the copy's age)"])
    out = Peek(False)
    now_dt = datetime.fromtimestamp(now, timezone.utc)
    for p in platforms:
        e = mirror["platforms"].get(p)
        if e is None:
            return Peek(True, [f"{p} is not in the copy"])
        horizon = now - float(e.get("ageHours") or 24) * 3600
        posts = [PostRef(post_id=str(pid), published_at=datetime.fromtimestamp(at, timezone.utc))
                 for pid, at in e.get("posts") or [] if at >= horizon]
        if not posts:
            continue  # no post of ours young enough: nothing to read on this platform
        if e.get("expires") and float(e["expires"]) - now < TOKEN_MARGIN:
            return Peek(True, [f"the {p} token needs refreshing"])
        if ratelimit.blocked_until(p, e["account"], now):
            continue  # the full poll would pause it too
        since = datetime.fromtimestamp(float(e.get("since") or horizon), timezone.utc)
        spent_before = sum(int(v) for v in (e.get("unbilled") or {}).values())
        budget = int(e.get("budget") or 0) - spent_before
        if budget <= 0:
            continue
        try:
            from shared.comments.service import _http

            account = _account(p, e)
            ctx = ReadContext(p, account, _http(p, account), posts, since, budget=budget,
                              cursor=dict(e.get("cursor") or {}))
            found = fetch.read(ctx)
        except PublishError as exc:
            return Peek(True, [f"reading {p} failed: {exc.message}"[:200]])
        except Exception as exc:  # the full poll records and reports whatever this was
            log.warning("comment peek on %s failed", p, exc_info=True)
            return Peek(True, [f"reading {p} failed: {type(exc).__name__}"])
        out.read += 1
        if ctx.spent:
            period = caps.period(caps.READ_UNIT[p], now_dt)
            bill = e.setdefault("unbilled", {})
            bill[period] = int(bill.get(period) or 0) + ctx.spent
        new = [f for f in found if f.commented_at > since]
        if new:
            out.full = True
            out.reasons.append(f"{len(new)} new comment(s) on {p}")
    return out
