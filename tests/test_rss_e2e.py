"""Issue proof: a feed created over the API, the emulated QStash tick fires, the dispatcher's check finds new items,
they are captioned and planned by the posting rules, and each is dry-run-published by the dispatcher at its time;
a post moved later is not published early; an older delivery message does nothing."""

import itertools
import time
from datetime import datetime, timedelta

import pytest
import rss_samples as S
from owner_time import owner_zone_at_midday
from rss_fakes import png_bytes
from rss_helpers import article_html, set_settings, wait_for

from shared.local.feed_server import FeedServer


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    srv.route("/img/hero.png", png_bytes(1200, 675), content_type="image/png")
    for i in range(5):
        srv.route(f"/story/{i}", article_html("/img/hero.png"), content_type="text/html")
    yield srv
    srv.stop()


def ensure_tick_schedule():
    """Create the rss-tick schedule in (emulated) QStash through the real client, paused so only our trigger
    fires it during the test."""
    from qstash import QStash

    from shared.config import get_config
    from shared.messaging.publisher import destination
    from shared.rss.poller import RSS_TICK

    cfg = get_config()
    q = QStash(cfg.qstash_token, base_url=cfg.qstash_url)
    q.schedule.create(destination=destination(RSS_TICK.path), cron=RSS_TICK.cron, schedule_id=RSS_TICK.id)
    q.schedule.pause(RSS_TICK.id)
    return q


def trigger_tick(backing):
    import httpx

    from shared.config import get_config

    before = len(backing.emulator.state.deliveries)
    r = httpx.post(f"{get_config().qstash_url}/_emulator/schedules/rss-tick/trigger")
    assert r.status_code == 200
    mid = r.json()["messageId"]
    return wait_for(lambda: [d for d in backing.emulator.state.deliveries[before:]
                             if d.get("messageId") == mid and "status" in d], timeout=20)[0]


def fast_forward_qstash(backing):
    """Time passes for QStash: every pending delayed message becomes due now."""
    for m in list(backing.emulator.state.messages.values()):
        if m.state == "pending":
            m.not_before = time.time()


def test_feed_to_dry_run_posts_through_the_dispatcher(backing, live_api, client, auth, clean_state, server):
    from shared import clock
    from shared.db import connection
    from shared.scheduling import dispatch

    tz = owner_zone_at_midday()
    local_hour = datetime.now(tz).hour
    quiet_start, quiet_end = (local_hour + 6) % 24, (local_hour + 8) % 24  # quiet hours away from now
    set_settings(timezone=tz.key, rssPostingInterval="10", rssEventDrivenPosting=True, dailyQuotaX=2,
                 dailyQuotaThreads=100, quietHoursEnabled=True, quietHoursStart=quiet_start,
                 quietHoursEnd=quiet_end, globalRSSPosting=True, postAlignMinutes=10,
                 publishMode="dry_run")  # no accounts connected: the engine records what it would post
    path = "/e2e.xml"
    server.route(path, S.rss_items("E2E News", [("s0", "Seed story", server.url("/story/0"))]))
    fid = client.post("/api/rss/feeds", json={"url": server.url(path), "autoPost": True, "interval": 5,
                                             "platformsEnabled": {"x": True, "threads": True}},
                      headers=auth).json()["data"]["id"]
    # adding the feed armed a rebuild of the checks' Redis copy: QStash delivers it, the feed gets a check time
    probe = wait_for(lambda: dispatch.pending().get(f"rss.probe|{fid}"))
    assert probe % 300 == 0  # on the feed's 5-minute grid
    # three new stories appear
    server.route(path, S.rss_items("E2E News", [
        ("s3", "Third: Nosferatu sequel announced officially", server.url("/story/3")),
        ("s2", "Second: Blade Runner series gets a teaser", server.url("/story/2")),
        ("s1", "First: The Odyssey trailer breaks records", server.url("/story/1")),
        ("s0", "Seed story", server.url("/story/0"))]))
    ensure_tick_schedule()
    messages_before = backing.emulator.state.published_count
    try:
        clock.set_offset(max(0.0, probe - time.time()) + 1)  # the check is due: the hourly schedule fires
        started = clock.now()
        # the wake-up the feed's creation armed (real time, minutes away) must not land inside the measurement
        for m in backing.emulator.state.messages.values():
            if m.state == "pending" and m.url.endswith("/api/internal/dispatch"):
                m.state = "cancelled"
        backing.redis_counter.reset()
        delivery = trigger_tick(backing)
        assert delivery["status"] == 200, delivery
        tick_redis = backing.redis_counter.total

        act = client.get("/api/rss/activity", headers=auth).json()["data"]
        assert act["summary"]["total"] == 3
        items = sorted(act["items"], key=lambda i: i["title"])
        for it in items:
            assert it["imageUrl"] == server.url("/img/hero.png")
            assert it["caption"] and it["caption"].rstrip().endswith(it["link"])
            assert {p["platform"] for p in it["plannedPosts"]} == {"x", "threads"}
        # posting rules: per-platform gap of 10 min, X quota 2 per local day -> the third X post moves to the
        # next local day; later posts sit on the 10-minute grid, where both platforms share a wake-up
        slots = {pf: sorted(datetime.fromisoformat(p["scheduledAt"].replace("Z", "+00:00"))
                            for it in items for p in it["plannedPosts"] if p["platform"] == pf)
                 for pf in ("x", "threads")}
        for pf, times in slots.items():
            assert times[0] - started < timedelta(seconds=30)  # event-driven: the first goes now
            assert all(b - a >= timedelta(minutes=10) for a, b in itertools.pairwise(times)), pf
            assert all(t.timestamp() % 600 == 0 for t in times[1:]), pf
        assert slots["threads"][2] - slots["threads"][0] < timedelta(minutes=31)
        assert slots["x"][1] == slots["threads"][1]
        x_days = [t.astimezone(tz).date() for t in slots["x"]]
        assert x_days[2] > x_days[0] and x_days.count(x_days[0]) == 2
        for t in slots["x"] + slots["threads"]:
            h = t.astimezone(tz).hour
            inside = (quiet_start <= h < quiet_end) if quiet_start < quiet_end else (h >= quiet_start or h < quiet_end)
            assert not inside
        first_x = min((p["scheduledAt"], it["title"]) for it in items for p in it["plannedPosts"]
                      if p["platform"] == "x")
        assert first_x[1].startswith("First:")  # oldest first: the oldest story got the earliest X slot

        # the posts due now went in the same invocation; the others are armed in the dispatcher, not in QStash
        def statuses():
            with connection() as conn:
                return {str(r["id"]): r["status"] for r in conn.execute("SELECT id, status FROM rss_planned_posts")}
        now_posts = [p for p, st in statuses().items() if st == "dry_run"]
        assert len(now_posts) == 2  # x and threads of the first story
        armed = dispatch.pending("rss.post")
        assert len(armed) == 4
        # one QStash message for the tick; wake-ups for later posts are armed one at a time, never one per post
        assert backing.emulator.state.published_count - messages_before <= 2
        # the tick's Redis cost: run_once (3, the last one also writes the usage batch), the dispatcher's pop,
        # early pick and commit (3), the feed locks (2); this first window also runs the housekeeping (the
        # meter's fold: 2, the armed-posts sweep: 1) and resets the YouTube channels' check copy (1)
        assert tick_redis <= 12, backing.redis_counter.by_command

        # a post moved later behind the dispatcher's back is not published early: it is re-armed for its time
        moved = next(p for p in statuses() if f"rss.post|{p}" in armed)
        with connection() as conn:
            conn.execute("UPDATE rss_planned_posts SET scheduled_at = scheduled_at + interval '2 days' "
                         "WHERE id = %s", (moved,))
        # time passes: the dispatcher runs each post at its time (the route's function, called directly)
        for at in sorted(set(armed.values())):
            clock.set_offset(at - time.time() + 1)
            dispatch.tick()
        final = statuses()
        assert final.pop(moved) == "planned"
        assert set(final.values()) == {"dry_run"}
        assert dispatch.pending().get(f"rss.post|{moved}", 0) > clock.time() + 86400
        others = list(client.get("/api/rss/activity", headers=auth).json()["data"]["items"])
        done = [i for i in others if all(p["status"] == "dry_run" for p in i["plannedPosts"])]
        assert len(done) == 2 and all(i["status"] == "published" and i["dryRun"] for i in done)
        # nothing is connected: each dry-run post says it was skipped and why (not "posted")
        assert all(r["status"] == "skipped" and r["dryRun"] and "is not connected" in r["error"]
                   for i in done for r in i["platformResults"])
        with connection() as conn:
            logs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs ORDER BY id")]
        assert sum(1 for m in logs if m.startswith("dry run: would post to")) == 5  # the gateway's own record
        assert sum(1 for m in logs if m.startswith("dry run: recorded (not sent) on")) == 5
        assert any(m.startswith("queued: First: The Odyssey") for m in logs)

        # an older delayed message for a finished post does nothing (never post twice)
        from shared.rss.queue import deliver

        with connection() as conn:
            v = conn.execute("SELECT version FROM rss_planned_posts WHERE id = %s", (now_posts[0],)).fetchone()
        assert deliver(now_posts[0], v["version"])["stale"] is True
    finally:
        clock.set_offset(None)


def test_internal_routes_require_a_qstash_signature(client):
    for path in ("/api/internal/rss/tick", "/api/internal/rss/publish", "/api/internal/rss/fetch"):
        r = client.post(path, json={})
        assert r.status_code == 401
