"""What every platform reader shares: our recent posts, the window to read, the read budget it may spend.

A reader returns the comments left on our posts after `since` that are addressed to us (top-level comments, or
replies to our own post on X), oldest or newest first as the platform gives them. Every request it makes is
charged to the platform's read unit in the ledger (caps.READ_UNIT) and counted in the usage meter; a reader
stops when its budget for the period is spent. Reads publish nothing, so they use the engine's `prepare` phase:
a connect error or a 5xx is retried in place, a 429 becomes a remembered rate limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from shared.config import get_config
from shared.publishing.adapters.base import Account
from shared.publishing.adapters.http import PlatformHttp

METER_UNIT = {"x": "x.post_reads", "youtube": "youtube.quota_units", "facebook": "meta.graph_calls",
              "instagram": "meta.graph_calls", "threads": "threads.graph_calls"}
MAX_POSTS_PER_POLL = 25  # the youngest posts; a creator's last day rarely holds more
MAX_PAGES = 3


class BudgetSpent(Exception):
    """The platform's read budget for this period is used up: stop reading, keep what was read."""


@dataclass(frozen=True)
class PostRef:
    post_id: str
    published_at: datetime
    text: str = ""
    publication_id: str | None = None


@dataclass(frozen=True)
class Fetched:
    comment_id: str
    post_id: str
    text: str
    commented_at: datetime
    author_id: str | None = None
    author_name: str | None = None


@dataclass
class ReadContext:
    platform: str
    account: Account
    http: PlatformHttp
    posts: list[PostRef]
    since: datetime
    budget: int
    cursor: dict[str, Any] = field(default_factory=dict)
    spent: int = 0
    exhausted: bool = False  # the budget ran out before every post was read

    def spend(self, units: int) -> None:
        """Charge units already spent (the request was made)."""
        from shared.usage import meter

        self.spent += units
        if units:
            meter.count(METER_UNIT[self.platform], units)

    def ensure(self, units: int = 1) -> None:
        if self.spent + units > self.budget:
            raise BudgetSpent(f"the {self.platform} read budget for this period is spent")

    def post(self, post_id: str) -> PostRef | None:
        return next((p for p in self.posts if p.post_id == post_id), None)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 in the platforms' spellings: `2024-05-01T10:00:00Z`, `...+0000` (Graph), fractional seconds."""
    if not value:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc)
    s = str(value).strip().replace("Z", "+00:00")
    if len(s) > 5 and s[-5] in "+-" and s[-3] != ":":  # +0000 -> +00:00
        s = s[:-2] + ":" + s[-2:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def graph_listing(ctx: ReadContext, url: str, params: dict[str, str], pages: int = 2) -> Iterator[dict]:
    """Items of a Graph-style listing (Meta, Threads), one charged call per page, following `paging.cursors.after`."""
    params = dict(params)
    for _ in range(pages):
        ctx.ensure(1)
        res = ctx.http.json("GET", url, phase="prepare", params=params)
        ctx.spend(1)
        yield from res.get("data") or []
        paging = res.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not after or not paging.get("next"):
            return
        params["after"] = after


def meta_base() -> str:
    from shared.publishing.connections.graph_version import graph_url

    return graph_url()  # the Graph API version publishing uses (META_GRAPH_VERSION)


def threads_base() -> str:
    return get_config().threads_api_base.rstrip("/") + "/v1.0"


def x_base() -> str:
    return get_config().x_api_base.rstrip("/")


def youtube_base() -> str:
    return get_config().youtube_api_base.rstrip("/") + "/youtube/v3"
