"""Can comment automation run on a platform, and if not, every reason why (pure).

Ready = switched on (globally and for the platform), connected, the scopes for reading and replying granted, an
OpenAI key to write replies, and (X) an API tier that can afford reading. Temporary pauses (a rate limit, a quota
used up for the day) leave a platform ready and are listed apart, under `paused`.

Scopes (from each platform's reference):
- YouTube: commentThreads.list and comments.insert need `youtube.force-ssl` (youtube-v3-discovery.json).
- Facebook Page: reading comments `pages_read_engagement` + `pages_read_user_content`, replying
  `pages_manage_engagement` (https://developers.facebook.com/documentation/pages-api/comments-mentions).
- Instagram (Facebook Login): `instagram_basic`, `instagram_manage_comments`, `pages_read_engagement`
  (https://developers.facebook.com/docs/instagram-platform/comment-moderation).
- Threads: `threads_read_replies` (GET) and `threads_manage_replies` (POST)
  (https://developers.facebook.com/docs/threads/reply-management).
- X: `tweet.read` + `users.read` to search a conversation, `tweet.write` to reply (x-openapi.json security).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.comments.caps import x_tier_problem
from shared.comments.config import SUPPORTED, UNSUPPORTED, CommentSettings

YOUTUBE_FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"

REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    "x": ("tweet.read", "users.read", "tweet.write"),
    "youtube": (YOUTUBE_FORCE_SSL,),
    "facebook": ("pages_read_engagement", "pages_read_user_content", "pages_manage_engagement"),
    "instagram": ("instagram_basic", "instagram_manage_comments", "pages_read_engagement"),
    "threads": ("threads_basic", "threads_read_replies", "threads_manage_replies"),
}

DISPLAY = {"x": "X", "threads": "Threads", "facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube",
           "tiktok": "TikTok", "pinterest": "Pinterest"}


@dataclass(frozen=True)
class ConnectionFacts:
    platform: str
    account_id: str
    status: str  # connected | needs_reconnect
    username: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass
class Readiness:
    platform: str
    enabled: bool
    connected: bool
    ready: bool
    username: str | None = None
    reasons: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"platform": DISPLAY.get(self.platform, self.platform), "key": self.platform,
                               "enabled": self.enabled, "connected": self.connected, "ready": self.ready,
                               "reasons": list(self.reasons)}
        if self.username:
            out["username"] = self.username
        if self.paused:
            out["paused"] = list(self.paused)
        return out


def missing_scopes(platform: str, granted: tuple[str, ...]) -> list[str]:
    have = {s.strip() for s in granted}
    return [s for s in REQUIRED_SCOPES.get(platform, ()) if s not in have]


def assess(platform: str, cs: CommentSettings, conn: ConnectionFacts | None,
           paused: list[str] | None = None) -> Readiness:
    name = DISPLAY.get(platform, platform)
    enabled = cs.enabled(platform)
    connected = conn is not None and conn.status == "connected"
    r = Readiness(platform, enabled, connected, False, conn.username if conn else None)
    if platform in UNSUPPORTED:
        r.reasons.append(UNSUPPORTED[platform])
        r.enabled = False
        return r
    if not cs.active:
        r.reasons.append("comment replies are switched off (commentRepliesActive)")
    elif not cs.rules(platform).active:
        r.reasons.append(f"comment replies are off for {name} ({platform}CommentBlacklist.active)")
    if conn is None:
        r.reasons.append(f"{name} is not connected")
    elif conn.status != "connected":
        r.reasons.append(f"{name} must be reconnected: it refused our access")
    else:
        missing = missing_scopes(platform, conn.scopes)
        if missing:
            r.reasons.append(f"{name} has not granted {', '.join(missing)}: reconnect {name} to grant them "
                             "(connecting asks for them while comment replies are on)")
    if platform == "x":
        problem = x_tier_problem(cs.x_tier)
        if problem:
            r.reasons.append(problem)
    if not cs.openai_key:
        r.reasons.append("no OpenAI API key is set (openaiKey): replies cannot be written")
    r.ready = not r.reasons and platform in SUPPORTED
    if r.ready and paused:
        r.paused = list(paused)
    return r
