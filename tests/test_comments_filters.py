"""Which comments get no reply, and the reason each skip keeps (pure tables); emoji and link detection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.comments.config import CommentSettings, PlatformRules
from shared.comments.filters import Candidate, decide
from shared.comments.text import emoji_count, has_link, is_emoji_only

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
FRESH = NOW - timedelta(hours=2)


def cand(text="Can't wait for this one", author="fan_1", author_id="u1", post_at=FRESH, **kw):
    return Candidate(text=text, author_id=author_id, author_name=author, commented_at=NOW - timedelta(minutes=5),
                     post_published_at=post_at, our_account_id=kw.pop("our_id", "me-42"),
                     our_username=kw.pop("our_name", "screndly"), **kw)


RULES = PlatformRules(active=True, usernames=("@SpamBot", "promo_king"), keywords=("ass", "free money", "f*ck"),
                      no_emoji_only=True, no_links=True, pause_old_posts=True, pause_after_hours=24)

CASES = [
    # (what, candidate, rules, globals (usernames, keywords), expected code or None)
    ("a normal question", cand(), RULES, ((), ()), None),
    ("our own reply, by id", cand(author_id="me-42", author="someone"), RULES, ((), ()), "own_reply"),
    ("our own reply, by handle", cand(author="@Screndly", author_id=None), RULES, ((), ()), "own_reply"),
    ("empty", cand(text="   "), RULES, ((), ()), "empty"),
    ("platform username blacklist, @ and case ignored", cand(author="spambot"), RULES, ((), ()), "blacklisted_user"),
    ("global username blacklist", cand(author="troll"), RULES, (("@Troll",), ()), "blacklisted_user"),
    ("keyword as a word", cand(text="what an ass move"), RULES, ((), ()), "blacklisted_keyword"),
    ("keyword inside another word does not count", cand(text="a classic in the making"), RULES, ((), ()), None),
    ("phrase keyword", cand(text="Get FREE MONEY now"), RULES, ((), ()), "blacklisted_keyword"),
    ("keyword with symbols matches as text", cand(text="what the f*ck"), RULES, ((), ()), "blacklisted_keyword"),
    ("global keyword", cand(text="this is spoilers galore"), RULES, ((), ("spoilers",)), "blacklisted_keyword"),
    ("old post", cand(post_at=NOW - timedelta(hours=30)), RULES, ((), ()), "old_post"),
    ("old post, pause off", cand(post_at=NOW - timedelta(hours=30)),
     PlatformRules(active=True, pause_old_posts=False), ((), ()), None),
    ("post just inside the pause", cand(post_at=NOW - timedelta(hours=23, minutes=59)), RULES, ((), ()), None),
    ("link", cand(text="watch it here https://spam.example/x"), RULES, ((), ()), "link"),
    ("bare domain link", cand(text="go to cheapflix.com now"), RULES, ((), ()), "link"),
    ("links allowed when noLinks is off", cand(text="see www.example.org"), PlatformRules(active=True), ((), ()),
     None),
    ("emoji only", cand(text="🔥🔥🔥"), RULES, ((), ()), "emoji_only"),
    ("emoji with punctuation only", cand(text="❤️ !!"), RULES, ((), ()), "emoji_only"),
    ("emoji only allowed when noEmojiOnly is off", cand(text="😍"), PlatformRules(active=True), ((), ()), None),
    ("emoji and words", cand(text="🔥 finally!"), RULES, ((), ()), None),
    ("order: blacklisted user before link", cand(author="promo_king", text="https://x.test"), RULES, ((), ()),
     "blacklisted_user"),
    ("order: own reply before everything", cand(author_id="me-42", text="🔥"), RULES, ((), ()), "own_reply"),
]


@pytest.mark.parametrize("what,c,rules,globals_,expected", CASES, ids=[c[0] for c in CASES])
def test_filter_table(what, c, rules, globals_, expected):
    skip = decide(c, rules, usernames=globals_[0], keywords=globals_[1], now=NOW)
    assert (skip.code if skip else None) == expected
    if skip:
        assert skip.reason  # every skip says why, in words the owner reads


def test_skip_reasons_name_what_matched():
    assert "free money" in decide(cand(text="free money!!"), RULES, now=NOW).reason
    assert "30 h old" in decide(cand(post_at=NOW - timedelta(hours=30)), RULES, now=NOW).reason
    assert "@spambot" in decide(cand(author="SpamBot"), RULES, now=NOW).reason


@pytest.mark.parametrize("text,only,count", [
    ("👍🏽", True, 1), ("👨‍👩‍👧", True, 1), ("🇳🇬🇺🇸", True, 2), ("1️⃣", True, 1), ("❤️❤️", True, 2),
    ("+1", False, 0), ("ok 👍", False, 1), ("", False, 0), ("!!!", False, 0), ("😂 😂 😂", True, 3),
])
def test_emoji_clusters(text, only, count):
    assert is_emoji_only(text) is only
    assert emoji_count(text) == count


@pytest.mark.parametrize("text,link", [
    ("http://a.b/c", True), ("see WWW.site.net", True), ("bit.ly/abc", True), ("t.co/xyz", True),
    ("e.g. this one", False), ("3.5 stars", False), ("no links here", False), ("email me at x@y", False),
])
def test_link_detection(text, link):
    assert has_link(text) is link


def test_settings_parse_loosely():
    cs = CommentSettings.from_settings({
        "commentRepliesActive": True,
        "xCommentBlacklist": {"active": True, "usernames": "a, @b,,c", "keywords": "x\ny", "noEmojiOnly": "true",
                              "pauseAfterHours": "48"},
        "threadsCommentBlacklist": {"active": False},
        "instagramCommentBlacklist": "not an object",
        "commentReplyFrequency": "weekly", "commentThrottle": "HIGH", "commentDailyReplyCaps": {"x": "7", "zz": 1},
        "commentPollInterval": "15", "platformSettings": {"x": {"tier": "Basic"}},
    })
    x = cs.rules("x")
    assert x.usernames == ("a", "@b", "c") and x.keywords == ("x", "y") and x.no_emoji_only is True
    assert x.pause_after_hours == 48 and x.post_age_hours == 48
    assert cs.enabled_platforms() == ["x"]
    assert cs.frequency == "instant" and cs.throttle == "high" and cs.hourly_cap == 30
    assert cs.daily_caps["x"] == 7 and "zz" not in cs.daily_caps
    assert cs.poll_minutes == 15 and cs.x_tier == "basic"
    off = CommentSettings.from_settings({"commentRepliesActive": False, "xCommentBlacklist": {"active": True}})
    assert off.enabled_platforms() == []
