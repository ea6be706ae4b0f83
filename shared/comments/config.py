"""The owner's comment settings, parsed once into typed values (pure).

Keys (frontend-contract §3.5, §4.2): `commentRepliesActive`, `{platform}CommentBlacklist` {active, usernames,
keywords, noEmojiOnly, noLinks, pauseOldPosts, pauseAfterHours}, `commentBlacklistUsernames/Keywords` (all
platforms), `commentReplyFrequency`, `commentThrottle`, `commentReply{Model,Temperature,Tone,MaxLength,Prompt}`,
`commentRetention`; our additions `commentPollInterval` (minutes) and `commentDailyReplyCaps` ({platform: n});
X's API tier from `platformSettings.x.tier`. The UI stores several numbers as strings ('24'): parsed loosely,
a value that does not parse falls back to its default rather than failing the poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.comments.schedule import interval_minutes

SUPPORTED: tuple[str, ...] = ("x", "threads", "facebook", "instagram", "youtube")
# the Comments page lists these too; their APIs offer this app no comment replies
UNSUPPORTED: dict[str, str] = {
    "tiktok": "TikTok's API does not let apps read or answer comments",
    "pinterest": "Pinterest's API has no comment endpoints",
}
ALL_PLATFORMS: tuple[str, ...] = ("x", "instagram", "tiktok", "facebook", "youtube", "threads", "pinterest")

FREQUENCY_SECONDS = {"instant": 0, "5min": 300, "15min": 900, "30min": 1800, "1hr": 3600}
# replies per hour per platform (the Node backend's throttle, peer-backend §3.5)
THROTTLE_PER_HOUR = {"low": 5, "medium": 15, "high": 30}
DEFAULT_DAILY_CAPS = {"x": 50, "threads": 100, "facebook": 100, "instagram": 100, "youtube": 20}
DEFAULT_POLL_MINUTES = 10
MAX_POST_AGE_HOURS = 7 * 24  # with pauseOldPosts off, posts are still read for at most a week
DEFAULT_PAUSE_AFTER_HOURS = 24.0

SETTING_KEYS: tuple[str, ...] = (
    "commentRepliesActive", "commentBlacklistUsernames", "commentBlacklistKeywords", "commentReplyFrequency",
    "commentThrottle", "commentReplyModel", "commentReplyTemperature", "commentReplyTone", "commentReplyMaxLength",
    "commentReplyPrompt", "commentRetention", "commentPollInterval", "commentDailyReplyCaps", "platformSettings",
    "openaiKey", "timezone", *(f"{p}CommentBlacklist" for p in SUPPORTED),
)


def _num(value: Any, default: float) -> float:
    if isinstance(value, bool) or value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def split_list(value: Any) -> tuple[str, ...]:
    """'a, b,,c' or ['a', 'b'] -> ('a', 'b', 'c'): the UI stores comma lists as strings."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").replace("\n", ",").split(",")
    return tuple(s for s in (str(i).strip() for i in items) if s)


@dataclass(frozen=True)
class PlatformRules:
    active: bool = False
    usernames: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    no_emoji_only: bool = False
    no_links: bool = False
    pause_old_posts: bool = True
    pause_after_hours: float = DEFAULT_PAUSE_AFTER_HOURS

    @classmethod
    def parse(cls, raw: Any) -> PlatformRules:
        r = raw if isinstance(raw, dict) else {}
        hours = _num(r.get("pauseAfterHours"), DEFAULT_PAUSE_AFTER_HOURS)
        return cls(active=_bool(r.get("active"), False), usernames=split_list(r.get("usernames")),
                   keywords=split_list(r.get("keywords")), no_emoji_only=_bool(r.get("noEmojiOnly"), False),
                   no_links=_bool(r.get("noLinks"), False), pause_old_posts=_bool(r.get("pauseOldPosts"), True),
                   pause_after_hours=hours if hours > 0 else DEFAULT_PAUSE_AFTER_HOURS)

    @property
    def post_age_hours(self) -> float:
        """How old a post may be for its comments to be read at all."""
        return min(self.pause_after_hours, MAX_POST_AGE_HOURS) if self.pause_old_posts else MAX_POST_AGE_HOURS


@dataclass(frozen=True)
class CommentSettings:
    active: bool = True
    platforms: dict[str, PlatformRules] = field(default_factory=dict)
    usernames: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    frequency: str = "instant"
    throttle: str = "low"
    daily_caps: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_CAPS))
    model: str = "gpt-5.4-nano"
    temperature: float = 0.7
    tone: str = "Engaging"
    max_length: int = 280
    prompt: str = ""
    retention_hours: float = 168.0
    poll_minutes: int = DEFAULT_POLL_MINUTES
    x_tier: str = "free"
    openai_key: str = ""
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, s: dict[str, Any]) -> CommentSettings:
        caps = dict(DEFAULT_DAILY_CAPS)
        raw_caps = s.get("commentDailyReplyCaps")
        if isinstance(raw_caps, dict):
            for p, v in raw_caps.items():
                if p in caps:
                    caps[p] = max(0, int(_num(v, caps[p])))
        raw_ps = s.get("platformSettings")
        ps: dict = raw_ps if isinstance(raw_ps, dict) else {}
        raw_x = ps.get("x")
        x_prefs: dict = raw_x if isinstance(raw_x, dict) else {}
        freq = str(s.get("commentReplyFrequency") or "instant").strip()
        throttle = str(s.get("commentThrottle") or "low").strip().lower()
        return cls(
            active=_bool(s.get("commentRepliesActive"), True),
            platforms={p: PlatformRules.parse(s.get(f"{p}CommentBlacklist")) for p in SUPPORTED},
            usernames=split_list(s.get("commentBlacklistUsernames")),
            keywords=split_list(s.get("commentBlacklistKeywords")),
            frequency=freq if freq in FREQUENCY_SECONDS else "instant",
            throttle=throttle if throttle in THROTTLE_PER_HOUR else "low",
            daily_caps=caps,
            model=str(s.get("commentReplyModel") or "gpt-5.4-nano"),
            temperature=_num(s.get("commentReplyTemperature"), 0.7),
            tone=str(s.get("commentReplyTone") or "Engaging"),
            max_length=int(min(max(_num(s.get("commentReplyMaxLength"), 280), 40), 500)),
            prompt=str(s.get("commentReplyPrompt") or ""),
            retention_hours=_num(s.get("commentRetention"), 168.0),
            poll_minutes=interval_minutes(s.get("commentPollInterval")),
            x_tier=str(x_prefs.get("tier") or "free").strip().lower(),
            openai_key=str(s.get("openaiKey") or ""),
            timezone=str(s.get("timezone") or "UTC"),
        )

    def rules(self, platform: str) -> PlatformRules:
        return self.platforms.get(platform) or PlatformRules()

    def enabled(self, platform: str) -> bool:
        """The owner switched comment replies on, for this platform (its `active` toggle)."""
        return self.active and platform in SUPPORTED and self.rules(platform).active

    def enabled_platforms(self) -> list[str]:
        return [p for p in SUPPORTED if self.enabled(p)]

    @property
    def frequency_seconds(self) -> int:
        return FREQUENCY_SECONDS[self.frequency]

    @property
    def hourly_cap(self) -> int:
        return THROTTLE_PER_HOUR[self.throttle]
