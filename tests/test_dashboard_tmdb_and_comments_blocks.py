"""The dashboard's `tmdb` and `comments` blocks (frontend-contract §1.8 DashboardStats) count real rows: TMDb
posts ready to go out and how far ahead they reach, in the owner's timezone; replies posted today, the share
of attempted replies that were posted, the newest replies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

TZ = "America/New_York"


pytestmark = pytest.mark.usefixtures("fresh_dashboard_caches")


def _labels(when: datetime, now: datetime) -> tuple[str, str]:
    local, today = when.astimezone(ZoneInfo(TZ)), now.astimezone(ZoneInfo(TZ)).date()
    days = (local.date() - today).days
    date_label = "Today" if days == 0 else "Tomorrow" if days == 1 else local.strftime("%a, %b ") + str(local.day)
    return date_label, local.strftime("%I:%M %p").lstrip("0")


def _post(db, title: str, status: str, at: datetime | None, source: str = "tmdb_today") -> str:
    return str(db.execute(
        "INSERT INTO tmdb_posts (tmdb_id, media_type, source, title, status, scheduled_at) "
        "VALUES (%s, 'movie', %s, %s, %s, %s) RETURNING id", (abs(hash(title)) % 10 ** 6, source, title, status, at),
    ).fetchone()["id"])


def test_tmdb_block_counts_scheduled_posts_ahead_and_labels_them_in_the_owners_timezone(client, auth, clean_state,
                                                                                         db):
    from psycopg.types.json import Jsonb

    db.execute("INSERT INTO settings (key, value) VALUES ('timezone', %s)", (Jsonb(TZ),))
    now = datetime.now(timezone.utc)
    ahead = [now + timedelta(hours=h) for h in (3, 1, 30, 75, 100, 150)]
    ids = [_post(db, f"Film {i}", "scheduled", at, "tmdb_weekly" if i == 2 else "tmdb_today")
           for i, at in enumerate(ahead)]
    _post(db, "Past due", "scheduled", now - timedelta(minutes=5))  # its slot passed: not ahead any more
    _post(db, "Waiting for the owner", "queued", now + timedelta(hours=2))
    _post(db, "Already out", "published", now - timedelta(hours=1))
    _post(db, "Broke", "failed", now + timedelta(hours=4))

    d = client.get("/api/dashboard/stats", headers=auth).json()["data"]["tmdb"]
    assert d["readyCount"] == 6
    last_local = max(ahead).astimezone(ZoneInfo(TZ)).date()
    assert d["coverageDays"] == (last_local - now.astimezone(ZoneInfo(TZ)).date()).days + 1
    order = sorted(range(6), key=lambda i: ahead[i])[:5]
    assert [u["id"] for u in d["upcoming"]] == [ids[i] for i in order]
    for u, i in zip(d["upcoming"], order):
        assert u["title"] == f"Film {i}" and u["source"] == ("tmdb_weekly" if i == 2 else "tmdb_today")
        assert datetime.fromisoformat(u["scheduledTime"]) == ahead[i]
        assert (u["dateLabel"], u["timeLabel"]) == _labels(ahead[i], now), u


def test_tmdb_block_is_zero_with_nothing_ahead(client, auth, clean_state, db):
    _post(db, "Already out", "published", datetime.now(timezone.utc) - timedelta(hours=1))
    d = client.get("/api/dashboard/stats", headers=auth).json()["data"]["tmdb"]
    assert d == {"readyCount": 0, "coverageDays": 0, "upcoming": []}


def _comment(db, n: int, platform: str, status: str, replied_ago: timedelta | None, updated_ago: timedelta,
             reply: str | None = None) -> str:
    now = datetime.now(timezone.utc)
    return str(db.execute(
        "INSERT INTO comments (platform, comment_id, post_id, text, commented_at, status, reply_text, replied_at, "
        "updated_at) VALUES (%s, %s, 'p1', %s, %s, %s, %s, %s, %s) RETURNING id",
        (platform, f"c{n}", f"comment {n}", now - timedelta(days=2), status, reply,
         now - replied_ago if replied_ago is not None else None, now - updated_ago),
    ).fetchone()["id"])


def test_comments_block_counts_todays_replies_the_success_rate_and_the_newest_replies(client, auth, clean_state, db):
    from psycopg.types.json import Jsonb

    now = datetime.now(timezone.utc)
    # the owner's day is chosen so that it is about noon there: "today" then holds the last hours, whatever the hour
    # the suite runs at (at 00:05 UTC a UTC owner's day would be 5 minutes old)
    ahead = 12 - now.hour  # hours the owner's clock is ahead of UTC; Etc/GMT names carry the opposite sign
    owner_tz = f"Etc/GMT{-ahead:+d}"
    db.execute("INSERT INTO settings (key, value) VALUES ('timezone', %s), ('commentRetention', %s), "
               "('xCommentBlacklist', %s), ('youtubeCommentBlacklist', %s), ('threadsCommentBlacklist', %s)",
               (Jsonb(owner_tz), Jsonb("72"), Jsonb({"active": True}), Jsonb({"active": True}),
                Jsonb({"active": False})))
    recent = [_comment(db, i, p, "replied", timedelta(minutes=5 * i), timedelta(minutes=5 * i), reply=f"reply {i}")
              for i, p in enumerate(["x", "youtube", "x", "threads", "x", "youtube"])]
    _comment(db, 10, "x", "replied", timedelta(days=2), timedelta(days=2), reply="older")  # in the window, not today
    _comment(db, 11, "x", "replied", timedelta(days=5), timedelta(days=5), reply="too old")  # beyond 72 h
    _comment(db, 12, "youtube", "failed", None, timedelta(hours=3))
    _comment(db, 13, "x", "unconfirmed", None, timedelta(hours=30))
    _comment(db, 14, "x", "failed", None, timedelta(days=4))  # beyond the window
    _comment(db, 15, "x", "dry_run", timedelta(minutes=1), timedelta(minutes=1), reply="not posted")
    _comment(db, 16, "x", "pending", None, timedelta(minutes=1))

    d = client.get("/api/dashboard/stats", headers=auth).json()["data"]["comments"]
    assert d["repliesToday"] == 6
    assert d["successRate"] == round(100 * 7 / 9, 1)  # 6 today + 1 two days ago posted; 2 failed/unconfirmed
    assert [r["id"] for r in d["recentReplies"]] == recent[:5]
    display = {"x": "X", "youtube": "YouTube", "threads": "Threads"}
    first = d["recentReplies"][0]
    assert first["comment"] == "comment 0" and first["reply"] == "reply 0" and first["platform"] == "X"
    assert [r["platform"] for r in d["recentReplies"]] == [display[p] for p in ["x", "youtube", "x", "threads", "x"]]
    assert now - timedelta(minutes=1) <= datetime.fromisoformat(first["repliedAt"]) <= datetime.now(timezone.utc)
    assert d["activePlatforms"] == 2

    # the Comments page's own per-platform numbers agree with the dashboard's totals
    per_platform = client.get("/api/comments/automation/stats", headers=auth).json()["data"]
    assert sum(p["repliesToday"] for p in per_platform) == d["repliesToday"]


def test_comments_success_rate_is_100_with_nothing_attempted(client, auth, clean_state, db):
    _comment(db, 1, "x", "pending", None, timedelta(minutes=1))
    d = client.get("/api/dashboard/stats", headers=auth).json()["data"]["comments"]
    assert d == {"repliesToday": 0, "successRate": 100.0, "recentReplies": [], "activePlatforms": 0}


def test_the_dashboard_names_platforms_as_the_comments_page_does():
    from shared.comments.readiness import DISPLAY
    from shared.dashboard.stats import PLATFORM_NAMES

    assert PLATFORM_NAMES == DISPLAY
