"""Platform names, normalised in one place (pure).

The frontend speaks several dialects (frontend-contract §7): publish targets `X`, `InstagramReels`,
`YouTubeShorts`; feed flags `x`, `instagram_reels`; TMDb rows `['X','Threads']`. Internally a *target* is a
lower-case snake name (`instagram_reels`) and its *family* is the account it posts through (`instagram`).
"""

from __future__ import annotations

import re

FAMILIES: tuple[str, ...] = ("x", "threads", "facebook", "instagram", "tiktok", "youtube", "pinterest")

# target -> family
TARGETS: dict[str, str] = {
    "x": "x",
    "threads": "threads",
    "facebook": "facebook",
    "facebook_feed": "facebook",
    "facebook_stories": "facebook",
    "instagram": "instagram",
    "instagram_feed": "instagram",
    "instagram_reels": "instagram",
    "instagram_stories": "instagram",
    "tiktok": "tiktok",
    "youtube": "youtube",
    "youtube_longform": "youtube",
    "youtube_shorts": "youtube",
    "pinterest": "pinterest",
    # comment replies (shared/comments): a reply posts through the family's connection
    "x_comment_reply": "x",
    "threads_comment_reply": "threads",
    "facebook_comment_reply": "facebook",
    "instagram_comment_reply": "instagram",
    "youtube_comment_reply": "youtube",
}

# the capitalised keys GET /api/platforms/status answers with
DISPLAY: dict[str, str] = {
    "x": "X", "threads": "Threads", "facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok",
    "youtube": "YouTube", "pinterest": "Pinterest",
}

_ALIASES = {"twitter": "x", "fb": "facebook", "ig": "instagram", "yt": "youtube", "tik_tok": "tiktok",
            "you_tube": "youtube", "instagram_reel": "instagram_reels", "youtube_short": "youtube_shorts",
            "facebook_story": "facebook_stories", "instagram_story": "instagram_stories",
            "youtube_long_form": "youtube_longform"}


class UnknownPlatform(ValueError):
    pass


def _snake(name: str) -> str:
    s = name.strip()
    # TikTok / YouTube keep their brand casing: treat them as one word before splitting camel case
    s = re.sub(r"(?i)tiktok", "Tiktok", s)
    s = re.sub(r"(?i)youtube", "Youtube", s)
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", s)
    s = re.sub(r"[\s\-]+", "_", s)
    return s.lower()


def normalize_target(name: str) -> str:
    """`InstagramReels`, `instagram_reels`, `instagram-reels` -> `instagram_reels`; unknown names raise."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownPlatform("platform name is empty")
    key = _snake(name)
    key = _ALIASES.get(key, key)
    if key not in TARGETS:
        raise UnknownPlatform(f"unknown platform '{name}'")
    return key


def family_of(name: str) -> str:
    return TARGETS[normalize_target(name)]


def normalize_family(name: str) -> str:
    """A connection name: accepts any target and returns its family (`InstagramReels` -> `instagram`)."""
    return family_of(name)
