"""How much a platform may be read and answered right now (pure).

Replies: `commentReplyFrequency` spaces reply batches (instant = every poll; 5min .. 1hr = at most one batch per
window), `commentThrottle` caps replies per hour per platform (low 5, medium 15, high 30), `commentDailyReplyCaps`
caps them per day in the owner's timezone; on top sit the platforms' own ceilings: Threads allows 1,000
API-published replies per 24 h (https://developers.facebook.com/docs/threads/reply-management), and a YouTube
reply (comments.insert) costs 50 quota units of the project's 10,000 a day, reads 1 unit per page
(https://developers.google.com/youtube/v3/determine_quota_cost). A test reply the owner asks for by hand skips
the frequency and throttle but never a platform's ceiling.

Reads: X counts every post a search returns against a monthly cap (Basic 10,000, Pro 1,000,000;
https://docs.x.com/x-api/fundamentals/post-cap) and its Free tier allows no useful reading, so X is skipped there;
Graph reads (Facebook, Instagram, Threads) stay under a per-hour call budget far below Meta's app limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.comments.config import CommentSettings

YOUTUBE_DAILY_UNITS = 2_000  # our share of the 10,000/day: uploads (1,600 each) keep the rest
YOUTUBE_LIST_COST = 1
YOUTUBE_INSERT_COST = 50
THREADS_REPLIES_PER_24H = 1_000
GRAPH_CALLS_PER_HOUR = 150
X_POST_CAP_PER_MONTH = {"free": 0, "basic": 10_000, "pro": 1_000_000, "enterprise": 50_000_000}
X_COMMENT_SHARE = 0.8  # the rest of the project's cap stays for publishing look-ups

_PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube's quota day resets at midnight Pacific time


@dataclass(frozen=True)
class ReplyUsage:
    last_hour: int = 0
    today: int = 0  # the owner's calendar day
    last_24h: int = 0
    youtube_units_today: int = 0
    last_batch_at: datetime | None = None


@dataclass(frozen=True)
class Allowance:
    count: int
    reason: str | None = None  # why nothing (more) may be sent now
    next_at: datetime | None = None  # the reply frequency's next batch
    resume_at: datetime | None = None  # when the binding limit lifts, if a calendar says (None: a sliding window)


def _next_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(timezone.utc)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except Exception:  # an unknown zone name in settings: the owner still gets UTC days
        return ZoneInfo("UTC")


def reply_allowance(platform: str, cs: CommentSettings, usage: ReplyUsage, now: datetime, *,
                    manual: bool = False) -> Allowance:
    limits: list[tuple[int, str, datetime | None]] = []
    if not manual:
        freq = cs.frequency_seconds
        if freq and usage.last_batch_at is not None and now - usage.last_batch_at < timedelta(seconds=freq):
            at = usage.last_batch_at + timedelta(seconds=freq)
            return Allowance(0, f"the next reply batch is due at {at.astimezone(timezone.utc):%H:%M} UTC "
                                f"(reply frequency {cs.frequency})", at, at)
        limits.append((cs.hourly_cap - usage.last_hour, (f"the hourly cap ({cs.throttle}: {cs.hourly_cap} replies "
                                                        "an hour) is reached"), None))
        cap = cs.daily_caps.get(platform, 0)
        limits.append((cap - usage.today, f"the daily cap of {cap} replies is reached",
                       _next_midnight(now, _zone(cs.timezone))))
    if platform == "threads":
        limits.append((THREADS_REPLIES_PER_24H - usage.last_24h, "Threads allows 1,000 API replies per 24 hours",
                       None))
    if platform == "youtube":
        left = (YOUTUBE_DAILY_UNITS - usage.youtube_units_today) // YOUTUBE_INSERT_COST
        limits.append((left, (f"today's YouTube quota for comments ({YOUTUBE_DAILY_UNITS} units, 50 a reply) "
                             "is used up"), _next_midnight(now, _PACIFIC)))
    if not limits:
        return Allowance(10_000)
    n, reason, _ = min(limits, key=lambda t: t[0])
    if n > 0:
        return Allowance(n)
    # several limits reached: the comments wait for the last of them to lift (None: a sliding window, unknown)
    resumes = [r for m, _, r in limits if m <= 0]
    return Allowance(0, reason, None, None if any(r is None for r in resumes) else max(r for r in resumes if r))


def x_read_budget_per_day(tier: str) -> int:
    """Posts we may read a day on this X tier (0: the tier cannot afford polling replies)."""
    return int(X_POST_CAP_PER_MONTH.get((tier or "free").lower(), 0) * X_COMMENT_SHARE / 30)


def x_tier_problem(tier: str) -> str | None:
    if x_read_budget_per_day(tier) <= 0:
        return (f"X's {tier or 'free'} API tier cannot afford reading replies (Free allows almost no reads); "
                "set platformSettings.x.tier to basic or higher if your app has it")
    return None


# --- the usage ledger's periods -----------------------------------------------------------------------

def period(unit: str, now: datetime) -> str:
    """The ledger row a unit is charged to: YouTube units per Pacific day, X post reads per UTC day, Graph
    calls per UTC hour."""
    if unit == "youtube_units":
        return now.astimezone(_PACIFIC).date().isoformat()
    if unit == "graph_calls":
        return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H")
    return now.astimezone(timezone.utc).date().isoformat()


READ_UNIT = {"youtube": "youtube_units", "x": "x_post_reads", "facebook": "graph_calls",
             "instagram": "graph_calls", "threads": "graph_calls"}


def read_blocked(platform: str, cs: CommentSettings, used: int) -> str | None:
    """Why this platform may not be read any more in the current period (`used`: units in it so far)."""
    if platform == "x":
        budget = x_read_budget_per_day(cs.x_tier)
        if budget <= 0:
            return x_tier_problem(cs.x_tier)
        if used >= budget:
            return f"today's X read allowance ({budget} posts on the {cs.x_tier} tier) is used up"
        return None
    if platform == "youtube":
        # keep room for at least one reply's 50 units
        if used >= YOUTUBE_DAILY_UNITS - YOUTUBE_INSERT_COST:
            return f"today's YouTube quota for comments ({YOUTUBE_DAILY_UNITS} units) is used up"
        return None
    if used >= GRAPH_CALLS_PER_HOUR:
        return f"this hour's read budget ({GRAPH_CALLS_PER_HOUR} calls) is used up"
    return None


def read_budget_left(platform: str, cs: CommentSettings, used: int) -> int:
    if platform == "x":
        return max(0, x_read_budget_per_day(cs.x_tier) - used)
    if platform == "youtube":
        return max(0, YOUTUBE_DAILY_UNITS - YOUTUBE_INSERT_COST - used)
    return max(0, GRAPH_CALLS_PER_HOUR - used)
