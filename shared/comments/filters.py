"""Which comments get no reply, and why (pure). Every skipped comment keeps its reason (code + words).

Checked in this order, first match wins: our own reply, an empty comment, a blacklisted username, a blacklisted
keyword, a comment on a post older than the platform's pause, a link (when `noLinks`), emoji only (when
`noEmojiOnly`). Blacklists are the global lists plus the platform's own. Usernames match whole (case-insensitive,
with or without "@"); a keyword matches as a whole word when it starts and ends with a letter or digit (so "ass"
does not catch "class") and as plain text otherwise (so "!!!" or "f*ck" still match).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from shared.comments.config import PlatformRules
from shared.comments.text import has_link, is_emoji_only


@dataclass(frozen=True)
class Skip:
    code: str  # own_reply | empty | blacklisted_user | blacklisted_keyword | old_post | link | emoji_only
    reason: str


@dataclass(frozen=True)
class Candidate:
    text: str
    author_id: str | None
    author_name: str | None
    commented_at: datetime
    post_published_at: datetime | None
    our_account_id: str | None = None
    our_username: str | None = None


def _handle(name: str | None) -> str:
    return (name or "").strip().lstrip("@").casefold()


def _keyword_hit(keyword: str, text: str) -> bool:
    k = keyword.casefold().strip()
    if not k:
        return False
    if k[0].isalnum() and k[-1].isalnum():
        return re.search(r"(?<!\w)" + re.escape(k) + r"(?!\w)", text) is not None
    return k in text


def decide(c: Candidate, rules: PlatformRules, *, usernames: tuple[str, ...] = (), keywords: tuple[str, ...] = (),
           now: datetime) -> Skip | None:
    """None: reply to it. A Skip: leave it, for the reason given."""
    author = _handle(c.author_name)
    ours = {_handle(c.our_username)} - {""}
    if (c.our_account_id and c.author_id and str(c.author_id) == str(c.our_account_id)) or (author and author in ours):
        return Skip("own_reply", "written by our own account")
    text = (c.text or "").strip()
    if not text:
        return Skip("empty", "the comment has no text")
    blocked = {_handle(u) for u in (*usernames, *rules.usernames)} - {""}
    if author in blocked or (c.author_id and _handle(c.author_id) in blocked):
        return Skip("blacklisted_user", f"@{author or c.author_id} is on the username blacklist")
    folded = text.casefold()
    for kw in (*keywords, *rules.keywords):
        if _keyword_hit(kw, folded):
            return Skip("blacklisted_keyword", f"contains the blacklisted keyword \"{kw.strip()}\"")
    if rules.pause_old_posts and c.post_published_at is not None:
        age_h = (now - c.post_published_at).total_seconds() / 3600
        if age_h > rules.pause_after_hours:
            return Skip("old_post", f"the post is {age_h:.0f} h old; replies pause after "
                                    f"{rules.pause_after_hours:g} h")
    if rules.no_links and has_link(text):
        return Skip("link", "contains a link")
    if rules.no_emoji_only and is_emoji_only(text):
        return Skip("emoji_only", "emoji only")
    return None
