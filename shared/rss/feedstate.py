"""What a feed check needs, kept in Redis, so a check costs no database wake-up (pure helpers).

Per feed (one field of the `rss:state` hash, JSON): its URL and interval, the conditional-GET validators of
the last fetch, the dedupe keys it already has in Postgres (shortened), and what decides whether a new item
would be posted now (filters, autoPost, platforms). The mirror is built from Postgres when it is missing or a
feed changed (`rss.rebuild`), and each processed feed's entry is refreshed after processing.

Check times sit on a grid anchored at midnight UTC: a 10-minute feed is checked at :00, :10, :20 ... whatever
time the previous check ran (the next check is set from the due time, not the fetch time), and feeds with the
same interval share one tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

STATE_KEY = "rss:state"
KEY_CHARS = 12  # dedupe keys are sha256 hex; 12 characters keep collisions negligible for a few hundred items
KEPT_KEYS = 150  # more than a feed document ever lists (rss_item_limit_per_fetch is 100)


def short(key: str) -> str:
    return key[:KEY_CHARS]


def next_on_grid(now: float, period_seconds: float) -> float:
    """The next grid point at least half a period away: an on-time check at :10:05 of a 10-minute feed is
    next due at :20, a late one at :19:59 at :30 (never twice in a row within seconds)."""
    period = max(60.0, float(period_seconds))
    return math.ceil((now + period / 2) / period) * period


def grid_at_or_after(now: float, period_seconds: float) -> float:
    period = max(60.0, float(period_seconds))
    return math.ceil(now / period) * period


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A feed row (with `keys`: its recent dedupe keys) -> its Redis state."""
    flags = row.get("platforms_enabled") or {}
    return {
        "u": row["url"], "n": row.get("name") or "", "i": int(row.get("interval_minutes") or 10),
        "e": row.get("etag"), "m": row.get("last_modified"),
        "k": sorted({short(k) for k in (row.get("keys") or []) if k}),
        "f": row.get("filters") or {}, "a": bool(row.get("auto_post")),
        "p": sorted(p for p, on in flags.items() if on), "s": bool(row.get("seeded")),
        "x": int(row.get("consecutive_failures") or 0),
    }


@dataclass(frozen=True)
class ProbeVerdict:
    dirty: bool  # Postgres has work: new entries to store (or a failure to record)
    urgent: bool  # one of the new entries would be posted: worth a wake-up now rather than at the window
    unseen: int
    reason: str


def judge(state: dict[str, Any], entries: list, keys: list[str], now: datetime, *, global_posting: bool,
          quiet: bool) -> ProbeVerdict:
    """After a changed fetch: are there entries Postgres does not have, and would any be posted now?
    `entries` pairs with `keys` (the pipeline's own dedupe keys for them). Pure."""
    known = set(state.get("k") or [])
    if not state.get("s"):
        return ProbeVerdict(True, False, len(keys), "never fetched into the database yet")
    unseen = [e for e, k in zip(entries, keys) if short(k) not in known]
    if not unseen:
        return ProbeVerdict(False, False, 0, "changed, but nothing new")
    if not (state.get("a") and state.get("p") and global_posting) or quiet:
        why = "quiet hours" if quiet else "not auto-posting"
        return ProbeVerdict(True, False, len(unseen), f"{len(unseen)} new; {why}: waits for the window")
    from shared.rss.filters import FilterSettings, evaluate

    rules = FilterSettings.from_json(state.get("f"))
    for e in unseen:
        if evaluate(rules, title=e.title, body_html=e.body_html, published_at=e.published_at, now=now).accepted:
            return ProbeVerdict(True, True, len(unseen), f"{len(unseen)} new; would post \"{e.title[:80]}\"")
    return ProbeVerdict(True, False, len(unseen), f"{len(unseen)} new; none passes the filters")


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
