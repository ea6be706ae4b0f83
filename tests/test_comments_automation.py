"""Comment automation against real Postgres, Redis and the platform fakes: the idle switch, readiness and the
scopes connecting asks for, caps and frequency in a running poll, failures, the owner's test reply, dry run,
late settling and retention."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from owner_time import owner_zone_at_midday
from publishing_fakes.comments_world import (  # noqa: F401  (fixtures)
    comment_settings,
    comment_world,
    connect_for_comments,
    openai_replies,
    publish_posts,
)
from publishing_fakes.comments_world import save_settings as settings
from publishing_fakes.world import world  # noqa: F401  (fixture)


def rows(db, platform=None):
    sql = "SELECT * FROM comments" + (" WHERE platform=%s" if platform else "") + " ORDER BY commented_at"
    return db.execute(sql, (platform,) if platform else ()).fetchall()


def signed(backing, path: str, body: bytes, message_id: str) -> dict:
    from shared.local.qstash_emulator import sign

    return {"Upstash-Signature": sign(body, backing.env["PUBLIC_BASE_URL"] + path,
                                      backing.env["QSTASH_CURRENT_SIGNING_KEY"]),
            "Upstash-Message-Id": message_id, "Content-Type": "application/json"}


def switch_value(redis_raw) -> dict:
    return json.loads(redis_raw.hget("dispatch:meta", "comments.switch"))


# --- the idle path ------------------------------------------------------------------------------------------

def test_idle_poll_answers_from_one_redis_command_with_the_database_down(backing, client, clean_state, redis_raw,
                                                                         monkeypatch):
    from shared.config import get_config
    from shared.db import close_pool

    settings(commentRepliesActive=False)  # the settings hook rebuilds the switch
    assert switch_value(redis_raw)["platforms"] == []
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/nothing_listens_here")
    get_config.cache_clear()
    close_pool()
    try:
        backing.redis_counter.reset()
        r = client.post("/api/internal/comments/poll", content=b"{}",
                        headers=signed(backing, "/api/internal/comments/poll", b"{}", "msg_idle_1"))
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"ran": False, "reason": "comment replies are not switched on for any platform"}
        assert backing.redis_counter.total == 1 and backing.redis_counter.by_command == {"HMGET": 1}
        # an unsigned call is refused before anything runs
        assert client.post("/api/internal/comments/poll", content=b"{}").status_code == 401
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
        close_pool()


def test_switch_follows_settings_connections_and_the_interval(comment_world, redis_raw, db):
    from shared.comments import switch

    settings(**comment_settings(commentPollInterval="20"))
    s = switch_value(redis_raw)
    assert s["platforms"] == [] and sorted(s["waiting"]) == ["facebook", "instagram", "threads", "x", "youtube"]
    assert s["intervalMinutes"] == 20
    stale = switch_value(redis_raw)
    connect_for_comments(comment_world, "instagram")
    assert switch_value(redis_raw)["platforms"] == ["instagram"]  # the connection's save rebuilt the switch
    stale["checkedAt"] = time.time()
    redis_raw.hset("dispatch:meta", "comments.switch", json.dumps(stale))  # as if Redis missed that rebuild
    now = time.time()
    assert switch.gate(now).run is False  # checked less than an hour ago: no database query yet
    assert switch.gate(now + switch.RECHECK_SECONDS).run is True  # the 6-hourly recheck finds the connection
    assert switch_value(redis_raw)["platforms"] == ["instagram"]
    redis_raw.hset("dispatch:meta", "comments.last_poll", f"{now:.3f}")
    g = switch.gate(now + 5 * 60)
    assert g.run is False and "interval is 20 min" in g.reason
    assert switch.gate(now + 20 * 60).run is True
    g = switch.gate(now + 5 * 60, governor_minutes=30)  # the governor slows comments: its cadence wins
    assert switch.gate(now + 20 * 60, governor_minutes=30).run is False
    assert switch.gate(now + 30 * 60, governor_minutes=30).run is True
    redis_raw.hdel("dispatch:meta", "comments.switch")  # Redis lost it: rebuilt from the database
    assert switch.gate(now + 20 * 60).rebuilt is True and switch_value(redis_raw)["platforms"] == ["instagram"]
    settings(instagramCommentBlacklist={"active": False})
    assert switch_value(redis_raw)["platforms"] == []


# --- readiness and scopes -----------------------------------------------------------------------------------

def test_readiness_names_every_reason_and_connecting_asks_for_comment_scopes(comment_world, client, auth):
    from urllib.parse import parse_qs, urlparse

    from shared.publishing.connections.oauth import authorization_url

    def scopes(platform):
        url = authorization_url(platform, "http://localhost:5173/platforms/callback")
        return set(parse_qs(urlparse(url).query)["scope"][0].replace(",", " ").split())

    settings(**comment_settings(openaiKey="", platformSettings={"x": {"tier": "free"}},
                                threadsCommentBlacklist={"active": False}))
    assert {"instagram_manage_comments", "instagram_content_publish"} <= scopes("instagram")
    assert {"pages_manage_engagement", "pages_read_user_content"} <= scopes("facebook")
    assert "https://www.googleapis.com/auth/youtube.force-ssl" in scopes("youtube")
    assert "threads_manage_replies" not in scopes("threads")  # replies are off for Threads: nothing extra asked
    # an account connected before comment replies were on lacks their scopes
    connect_for_comments(comment_world, "instagram", "x", scopes={"instagram": ["instagram_basic",
                                                                                "instagram_content_publish"]})
    ready = {r["key"]: r for r in client.get("/api/comments/automation/readiness", headers=auth).json()["data"]}
    ig = ready["instagram"]
    assert ig["ready"] is False and ig["connected"] is True and ig["enabled"] is True
    assert any("instagram_manage_comments" in r and "reconnect" in r for r in ig["reasons"])
    assert any("OpenAI" in r for r in ig["reasons"])
    assert any("free API tier cannot afford" in r for r in ready["x"]["reasons"])
    assert any("not connected" in r for r in ready["facebook"]["reasons"])
    assert ready["threads"]["enabled"] is False and any("off for Threads" in r for r in ready["threads"]["reasons"])
    assert ready["pinterest"]["reasons"] == ["Pinterest's API has no comment endpoints"]
    settings(openaiKey="sk-comments", platformSettings={"x": {"tier": "basic"}})
    ready = {r["key"]: r for r in client.get("/api/comments/automation/readiness", headers=auth).json()["data"]}
    assert ready["x"]["ready"] is True and ready["instagram"]["ready"] is False


# --- caps, frequency and failures in a running poll ---------------------------------------------------------

def test_throttle_daily_cap_and_frequency_hold_across_polls(comment_world, db):
    from shared.comments import service

    w = comment_world
    connect_for_comments(w, "facebook")
    post = publish_posts(w, ["facebook"], tag="caps")["facebook"]
    for i in range(7):
        w.meta.add_fb_comment(post, f"Question number {i} about this trailer")
    # the daily cap counts the owner's day: an owner for whom it is midday now, so moving replies an hour back
    # never puts them on yesterday (it did between 23:00 and 00:01 UTC with the default Africa/Lagos)
    settings(**comment_settings(commentThrottle="low", commentReplyFrequency="15min",
                                timezone=owner_zone_at_midday().key))
    first = service.poll()
    assert first.platforms["facebook"]["new"] == 7 and first.platforms["facebook"]["replies"]["sent"] == 5
    assert [r["status"] for r in rows(db)].count("replied") == 5
    # the next poll is inside the 15-minute window: nothing is sent, and nothing is told yet
    second = service.poll()
    assert second.platforms["facebook"]["replies"]["sent"] == 0
    assert "reply frequency 15min" in second.platforms["facebook"]["replies"]["paused"]
    # the window passes, but the hourly throttle (low: 5) is used up: the owner is told once
    db.execute("UPDATE comment_poll_state SET last_reply_batch_at = now() - interval '16 minutes'")
    for _ in range(2):
        third = service.poll()
        assert "hourly cap" in third.platforms["facebook"]["replies"]["paused"]
    notes = db.execute("SELECT title, source FROM notifications WHERE source='comment'").fetchall()
    assert notes == [{"title": "Facebook comment replies paused", "source": "comment"}]
    # an hour later the rest go out, within the daily cap
    db.execute("UPDATE comments SET reply_started_at = reply_started_at - interval '61 minutes'")
    db.execute("UPDATE comment_poll_state SET last_reply_batch_at = now() - interval '16 minutes'")
    settings(commentDailyReplyCaps={"facebook": 6})
    fourth = service.poll()
    assert fourth.platforms["facebook"]["replies"]["sent"] == 1
    assert [r["status"] for r in rows(db)].count("replied") == 6
    assert len([p for p in w.meta.posts if p.get("kind") == "fb_reply"]) == 6


def test_failed_replies_are_recorded_with_reasons_and_notifications(comment_world, db):
    from shared.comments import service

    w = comment_world
    connect_for_comments(w, "facebook", "instagram")
    posts = publish_posts(w, ["facebook", "instagram"], tag="fail")
    gone = w.meta.add_fb_comment(posts["facebook"], "This comment will be deleted")
    w.meta.add_ig_comment(posts["instagram"], "Is this the final trailer?")
    settings(**comment_settings())
    # the commenter deletes the comment before the reply goes out; the OpenAI key is refused for Instagram's
    real_read = service._read_platform

    def delete_after_read(platform, *a, **kw):
        out = real_read(platform, *a, **kw)
        if platform == "facebook":
            w.meta.comments.pop(gone["id"])
        return out

    service._read_platform = delete_after_read
    try:
        settings(openaiKey="sk-comments")
        service.poll()
    finally:
        service._read_platform = real_read
    fb = rows(db, "facebook")[0]
    assert fb["status"] == "failed" and "replies go to an existing comment" in fb["error"]
    note = db.execute("SELECT * FROM notifications WHERE source='comment'").fetchall()
    assert [n["title"] for n in note] == ["Facebook comment reply failed"]
    # a 503 answering the reply request, and no reply found by the look-up: unconfirmed, never sent again
    maybe = w.meta.add_fb_comment(posts["facebook"], "Is there a post-credits scene?")
    w.meta.fail_next("comment_reply", 503)
    service.poll()
    service.poll()
    row = next(r for r in rows(db, "facebook") if r["comment_id"] == maybe["id"])
    assert row["status"] == "unconfirmed" and row["reply_publication_id"]
    assert sum(1 for n, _ in w.meta.calls if n == "comment_reply") == 2  # the deleted one + this one, once
    unconfirmed = db.execute("SELECT source FROM notifications WHERE title LIKE 'Check your Facebook%'").fetchall()
    assert len(unconfirmed) == 1  # the engine's, once; not a second one from comments
    # a wrong OpenAI key: nothing is posted; the comment waits, and after 3 tries it is given up with a notice
    settings(openaiKey="sk-wrong")
    w.meta.add_ig_comment(posts["instagram"], "Who composed the music?")
    for _ in range(3):
        service.poll()
    ig = next(r for r in rows(db, "instagram") if r["text"] == "Who composed the music?")
    assert ig["status"] == "failed" and "OpenAI rejected the API key" in ig["error"] and ig["attempts"] == 3
    assert not [p for p in w.meta.posts if p.get("kind") == "ig_reply" and p["reply_to"] == ig["comment_id"]]
    titles = [n["title"] for n in db.execute("SELECT title FROM notifications WHERE source='comment'").fetchall()]
    assert "Instagram comment left unanswered" in titles


# --- the owner's test reply ----------------------------------------------------------------------------------

def test_test_reply_previews_posts_once_and_refuses_a_second(comment_world, client, auth, db):
    from shared.comments import service

    w = comment_world
    connect_for_comments(w, "youtube")
    post = publish_posts(w, ["youtube"], tag="test")["youtube"]
    settings(**comment_settings(youtubeCommentBlacklist={"active": False}))  # automation off: test replies still work
    c = w.youtube.add_comment(post, "Will there be an IMAX release?")
    skipped = w.youtube.add_comment(post, "🔥🔥")
    # the poll reads them but its daily cap (0) lets no reply out: the owner picks one and answers by hand
    settings(youtubeCommentBlacklist={"active": True, "noEmojiOnly": True}, commentDailyReplyCaps={"youtube": 0})
    service.poll()
    settings(youtubeCommentBlacklist={"active": False})
    by_cid = {r["comment_id"]: r for r in rows(db)}
    target, emoji = by_cid[c["id"]], by_cid[skipped["id"]]
    assert emoji["status"] == "skipped" and emoji["skip_code"] == "emoji_only"
    listed = client.get("/api/comments?platform=YouTube&status=pending", headers=auth).json()["data"]
    assert [x["commentId"] for x in listed] == [c["id"]]

    preview = client.post(f"/api/comments/{target['id']}/reply", json={"preview": True}, headers=auth)
    assert preview.status_code == 200 and preview.json()["data"]["preview"] is True
    assert "Will there be an IMAX" in preview.json()["data"]["reply"] and not w.youtube.threads[0]["replies"]

    sent = client.post("/api/comments/reply", json={"commentId": str(target["id"]), "text": "Yes, IMAX on day one!"},
                       headers=auth)
    assert sent.status_code == 200, sent.text
    assert sent.json()["data"]["status"] == "replied"
    assert [r["text"] for r in w.youtube.threads[0]["replies"]] == ["Yes, IMAX on day one!"]
    again = client.post(f"/api/comments/{target['id']}/reply", json={}, headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    assert len(w.youtube.threads[0]["replies"]) == 1
    # an owner may answer a comment a filter skipped, on purpose
    ok = client.post(f"/api/comments/{emoji['id']}/reply", json={"text": "Glad you like it!"}, headers=auth)
    assert ok.status_code == 200 and ok.json()["data"]["status"] == "replied"
    assert db.execute("SELECT test_reply FROM comments WHERE id=%s", (emoji["id"],)).fetchone()["test_reply"]
    # YouTube units: 1 list + 50 per reply, in the ledger
    used = db.execute("SELECT used FROM comment_usage WHERE platform='youtube'").fetchone()["used"]
    assert used == 1 + 2 * 50 and w.youtube.units >= used
    assert client.post("/api/comments/00000000-0000-0000-0000-000000000000/reply", json={},
                       headers=auth).status_code == 404
    assert client.post("/api/comments/not-an-id/reply", json={}, headers=auth).status_code == 404
    assert client.post(f"/api/comments/{target['id']}/reply", json={"text": "x" * 3000},
                       headers=auth).status_code == 400
    assert client.get("/api/comments?platform=myspace", headers=auth).status_code == 400


# --- dry run, late settling, retention -----------------------------------------------------------------------

def test_dry_run_replies_show_as_such_and_post_nothing(comment_world, client, auth, db):
    from shared.comments import service

    w = comment_world
    connect_for_comments(w, "threads")
    post = publish_posts(w, ["threads"], tag="dry")["threads"]
    w.threads.add_reply(post, "Is this out on streaming?")
    settings(**comment_settings(publishMode="dry_run"))
    service.poll()
    r = rows(db, "threads")[0]
    assert r["status"] == "dry_run" and r["reply_text"]
    assert not [p for p in w.threads.posts if p.get("reply_to")]
    s = {x["key"]: x for x in client.get("/api/comments/automation/stats", headers=auth).json()["data"]}["threads"]
    assert s["repliesToday"] == 0 and s["recentReplies"][0]["dryRun"] is True


def test_rate_limited_reply_settles_later_even_when_no_listener_hears_it(comment_world, db, monkeypatch, backing):
    from shared.comments import service
    from shared.publishing.engine import listeners, runner

    w = comment_world
    connect_for_comments(w, "x")
    post = publish_posts(w, ["x"], tag="rl")["x"]
    w.x.add_reply(post, "Which cinema chains will show it?")
    settings(**comment_settings())
    w.x.fail_next("tweet", 429)
    service.poll()
    r = rows(db, "x")[0]
    assert r["status"] == "replying" and r["reply_publication_id"] is not None
    pub = db.execute("SELECT state FROM publications WHERE id=%s", (r["reply_publication_id"],)).fetchone()
    assert pub["state"] == "planned"  # waits for the rate limit's reset, not sent again in a loop
    # the engine's delayed QStash run for the reset (a second or two away) is this test's own run below: on a
    # loaded machine it could fire first, in the background, with the listeners still there
    delayed = [m for m in backing.emulator.state.messages.values()
               if m.state == "pending" and m.url.endswith("/api/internal/publishing/run")]
    assert delayed
    for m in delayed:
        m.state = "cancelled"
    time.sleep(w.x.rate_reset_in * 2)
    monkeypatch.setattr(listeners, "_listeners", {})  # the process that settles it has no comment listener
    db.execute("UPDATE publications SET not_before = now() WHERE id=%s", (r["reply_publication_id"],))
    assert runner.run(str(r["reply_publication_id"])).state == "published"
    assert rows(db, "x")[0]["status"] == "replying"
    report = service.poll()  # the poll reconciles what no listener heard
    assert report.reconciled["settled"] == 1
    done = rows(db, "x")[0]
    assert done["status"] == "replied" and done["reply_id"]
    assert len([p for p in w.x.posts if p.get("in_reply_to") == done["comment_id"]]) == 1


def test_retention_prunes_old_comments_but_keeps_replies_in_flight(clean_state, db):
    from shared.comments.cleanup import prune_comments
    from shared.maintenance.cleanup import CleanupContext

    now = datetime.now(timezone.utc)
    for cid, age_h, status in (("old", 200, "replied"), ("old-replying", 200, "replying"), ("new", 10, "skipped")):
        db.execute("INSERT INTO comments (platform, comment_id, post_id, text, commented_at, fetched_at, status) "
                   "VALUES ('x', %s, 'p', 't', %s, %s, %s)", (cid, now - timedelta(hours=age_h),
                                                             now - timedelta(hours=age_h), status))
    out = prune_comments(CleanupContext(settings={"commentRetention": "168"}, now=now))
    assert out["deleted"] == 1
    assert sorted(r["comment_id"] for r in rows(db)) == ["new", "old-replying"]
    assert prune_comments(CleanupContext(settings={"commentRetention": "0"}, now=now)) == {"deleted": 0,
                                                                                           "kept": "forever"}


@pytest.mark.parametrize("path", ["/api/comments/automation/stats", "/api/comments/automation/readiness",
                                  "/api/comments"])
def test_comment_routes_need_a_session(client, path):
    assert client.get(path).status_code == 401


def test_a_reply_whose_worker_died_mid_way_is_never_sent_twice(comment_world, db):
    """The worker claimed the comment and posted the reply, then died before recording the publication on the
    comment: the poll hands the claim back, the second attempt finds the first one's publication by its key."""
    from shared.comments import service
    from shared.publishing.gateway import PublishRequest, publish

    w = comment_world
    connect_for_comments(w, "instagram")
    media = publish_posts(w, ["instagram"], tag="died")["instagram"]
    c = w.meta.add_ig_comment(media, "Does it come out in 4DX too?")
    settings(**comment_settings(instagramCommentBlacklist={"active": True}, commentDailyReplyCaps={"instagram": 0}))
    service.poll()  # stored, waiting (cap 0)
    row = rows(db, "instagram")[0]
    first = publish(PublishRequest(idempotency_key=service.reply_key("instagram", c["id"]),
                                   platform="instagram_comment_reply",
                                   content={"text": "Yes, 4DX on opening day!", "replyToId": c["id"]},
                                   source="comment", source_ref=None))
    assert first.status == "published"
    db.execute("UPDATE comments SET status='replying', updated_at = now() - interval '20 minutes' WHERE id=%s",
               (row["id"],))
    settings(commentDailyReplyCaps={"instagram": 10})
    report = service.poll()
    assert report.reconciled["released"] == 1
    done = rows(db, "instagram")[0]
    assert done["status"] == "replied" and done["reply_text"] == "Yes, 4DX on opening day!"
    assert done["reply_id"] == first.platform_post_id
    assert len([p for p in w.meta.posts if p.get("kind") == "ig_reply"]) == 1


def test_one_platform_down_does_not_stop_the_others(comment_world, db):
    from shared.comments import service

    w = comment_world
    connect_for_comments(w, "facebook", "instagram")
    posts = publish_posts(w, ["facebook", "instagram"], tag="down")
    w.meta.add_fb_comment(posts["facebook"], "Is the runtime known yet?")
    w.meta.add_ig_comment(posts["instagram"], "Who plays the villain?")
    settings(**comment_settings())
    w.meta.fail_next("comments", 503, 503, 503)  # Facebook's read fails through its retries
    report = service.poll()
    assert "503" in report.platforms["facebook"]["error"] and report.platforms["facebook"]["new"] == 0
    assert report.platforms["instagram"]["replies"]["sent"] == 1
    state = db.execute("SELECT * FROM comment_poll_state WHERE platform='facebook'").fetchone()
    assert state["last_polled_at"] is None and "503" in state["last_error"]  # the window is read again next time
    log = db.execute("SELECT level, message FROM activity_logs WHERE service='comments' ORDER BY id DESC").fetchone()
    assert log["level"] == "warn" and "errors on facebook" in log["message"]
    again = service.poll()
    assert again.platforms["facebook"]["new"] == 1 and again.platforms["facebook"]["replies"]["sent"] == 1


def test_two_polls_at_once_answer_each_comment_once(comment_world, db):
    from concurrent.futures import ThreadPoolExecutor

    from shared.comments import service

    w = comment_world
    connect_for_comments(w, "facebook")
    post = publish_posts(w, ["facebook"], tag="race")["facebook"]
    for i in range(6):
        w.meta.add_fb_comment(post, f"Race question {i}: is it rated R?")
    settings(**comment_settings(commentThrottle="high"))
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: service.poll(), range(2)))
    assert sum(r.platforms["facebook"]["new"] for r in reports) == 6  # stored once each, whoever saw it first
    sent = [p["reply_to"] for p in w.meta.posts if p.get("kind") == "fb_reply"]
    assert len(sent) == 6 and len(set(sent)) == 6
    assert {r["status"] for r in rows(db)} == {"replied"}


def test_the_poll_has_no_schedule_of_its_own_and_a_save_rearms_it_on_its_grid(backing, client, auth, clean_state,
                                                                              redis_raw):
    from shared import clock
    from shared.messaging import schedules
    from shared.rss.feedstate import next_on_grid
    from shared.scheduling import dispatch

    schedules.sync()
    assert not [k for k in backing.emulator.state.schedules if "comments" in k]
    assert len(schedules.SCHEDULES) <= schedules.FREE_TIER_SCHEDULES
    assert client.put("/api/settings", json={"commentRepliesActive": False}, headers=auth).status_code == 200
    # nothing switched on: the poll looks again at the next full hour (the hourly safety net's tick)
    assert dispatch.pending("comments.poll") == {"comments.poll|all": next_on_grid(clock.time(), 3600)}
    assert client.put("/api/settings", json={"commentPollInterval": "25"}, headers=auth).status_code == 200
    assert switch_value(redis_raw)["intervalMinutes"] == 30  # rounded up to a divisor of the hour
