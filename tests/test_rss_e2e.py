"""Issue proof: a feed created over the API, the emulated QStash tick fires, items are captioned and queued by the
posting rules, and each is dry-run-published when its delayed message arrives; stale messages do nothing."""

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import rss_samples as S
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


ZONES = ("Pacific/Honolulu", "America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "UTC",
         "Africa/Lagos", "Europe/Moscow", "Asia/Kolkata", "Asia/Bangkok", "Asia/Tokyo", "Pacific/Auckland",
         "Pacific/Kiritimati")


def owner_zone_at_midday() -> ZoneInfo:
    """An owner timezone where it is 09:00-15:59 now, so the day boundary the quota assertion relies on is hours
    away whenever the test runs."""
    return next(ZoneInfo(z) for z in ZONES if 9 <= datetime.now(ZoneInfo(z)).hour <= 15)


def test_feed_to_dry_run_posts_through_qstash(backing, live_api, client, auth, clean_state, server):
    tz = owner_zone_at_midday()
    local_hour = datetime.now(tz).hour
    quiet_start, quiet_end = (local_hour + 6) % 24, (local_hour + 8) % 24  # quiet hours away from now
    set_settings(timezone=tz.key, rssPostingInterval="10", rssEventDrivenPosting=True, dailyQuotaX=2,
                 dailyQuotaThreads=100, quietHoursEnabled=True, quietHoursStart=quiet_start,
                 quietHoursEnd=quiet_end, globalRSSPosting=True,
                 publishMode="dry_run")  # no accounts connected: the engine records what it would post
    path = "/e2e.xml"
    server.route(path, S.rss_items("E2E News", [("s0", "Seed story", server.url("/story/0"))]))
    client.post("/api/rss/feeds", json={"url": server.url(path), "autoPost": True, "interval": 5,
                                               "platformsEnabled": {"x": True, "threads": True}},
                       headers=auth).json()["data"]
    # three new stories appear; make the feed due
    server.route(path, S.rss_items("E2E News", [
        ("s3", "Third: Nosferatu sequel announced officially", server.url("/story/3")),
        ("s2", "Second: Blade Runner series gets a teaser", server.url("/story/2")),
        ("s1", "First: The Odyssey trailer breaks records", server.url("/story/1")),
        ("s0", "Seed story", server.url("/story/0"))]))
    from shared.db import connection

    with connection() as conn:
        conn.execute("UPDATE rss_feeds SET next_run_at = now() - interval '1 second'")
    ensure_tick_schedule()
    published_before = backing.emulator.state.published_count
    backing.redis_counter.reset()
    started = datetime.now(timezone.utc)
    delivery = trigger_tick(backing)
    assert delivery["status"] == 200, delivery

    act = client.get("/api/rss/activity", headers=auth).json()["data"]
    assert act["summary"]["total"] == 3
    items = sorted(act["items"], key=lambda i: i["title"])
    for it in items:
        assert it["imageUrl"] == server.url("/img/hero.png")
        assert it["caption"] and it["caption"].rstrip().endswith(it["link"])
        assert {p["platform"] for p in it["plannedPosts"]} == {"x", "threads"}
    # posting rules: per-platform gap of 10 min, X quota 2 per local day -> the third X post moves to the next
    # local day (after quiet hours if they cover midnight); threads posts are 10 min apart from now
    slots = {pf: sorted(datetime.fromisoformat(p["scheduledAt"].replace("Z", "+00:00"))
                        for it in items for p in it["plannedPosts"] if p["platform"] == pf)
             for pf in ("x", "threads")}
    for pf, times in slots.items():
        assert times[0] - started < timedelta(seconds=30)  # event-driven: the first goes now
        assert all(b - a >= timedelta(minutes=10) for a, b in zip(times, times[1:])), pf
    assert slots["threads"][2] - slots["threads"][0] < timedelta(minutes=21)
    x_days = [t.astimezone(tz).date() for t in slots["x"]]
    assert x_days[2] > x_days[0] and x_days.count(x_days[0]) == 2
    for t in slots["x"] + slots["threads"]:
        h = t.astimezone(tz).hour
        inside = (quiet_start <= h < quiet_end) if quiet_start < quiet_end else (h >= quiet_start or h < quiet_end)
        assert not inside
    # oldest first: the oldest story got the earliest X slot
    first_x = min((p["scheduledAt"], it["title"]) for it in items for p in it["plannedPosts"] if p["platform"] == "x")
    assert first_x[1].startswith("First:")

    # the posts due now were delivered at once; the rest wait for their time
    def posted():
        return [it for it in client.get("/api/rss/activity", headers=auth).json()["data"]["items"]
                if any(p["status"] == "dry_run" for p in it["plannedPosts"])]
    wait_for(lambda: len(posted()) >= 1)
    # 1 tick + 6 delayed deliveries; no other message
    assert backing.emulator.state.published_count - published_before == 1 + 6
    tick_redis = backing.redis_counter.total
    arrived = sum(1 for d in backing.emulator.state.deliveries if d.get("at", 0) >= started.timestamp())
    # 2 lock scripts for the tick, then 3 per QStash delivery (signature seen, message claimed, message done);
    # one more delivery may land between the two reads above
    assert tick_redis <= 2 + 3 * (arrived + 1), backing.redis_counter.by_command

    # a stale message: the user reschedules one planned post (version bump) -> the old message does nothing
    with connection() as conn:
        stale = conn.execute("UPDATE rss_planned_posts SET version = version + 1 WHERE id = (SELECT id FROM "
                             "rss_planned_posts WHERE status = 'planned' AND platform = 'threads' "
                             "ORDER BY scheduled_at LIMIT 1) RETURNING id, item_id").fetchone()
    fast_forward_qstash(backing)
    wait_for(lambda: not [m for m in backing.emulator.state.messages.values() if m.state == "pending"], timeout=40)
    with connection() as conn:
        rows = conn.execute("SELECT id, platform, status FROM rss_planned_posts").fetchall()
    statuses = {str(r["id"]): r["status"] for r in rows}
    assert statuses.pop(str(stale["id"])) == "planned"  # untouched by its stale message
    assert set(statuses.values()) == {"dry_run"}
    act = client.get("/api/rss/activity", headers=auth).json()["data"]
    by_id = {i["id"]: i for i in act["items"]}
    assert by_id[str(stale["item_id"])]["status"] == "pending"  # still has a planned post
    others = [i for i in act["items"] if i["id"] != str(stale["item_id"])]
    assert all(i["status"] == "published" and i["dryRun"] for i in others), [(i["title"], i["status"], i["stage"], i["dryRun"], i["plannedPosts"]) for i in others]
    # nothing is connected: each dry-run post says it was skipped and why (issue 14: not "posted")
    assert all(r["status"] == "skipped" and r["dryRun"] and "is not connected" in r["error"]
               for i in others for r in i["platformResults"])
    with connection() as conn:
        logs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs ORDER BY id")]
    assert sum(1 for m in logs if m.startswith("dry run: would post to")) == 5  # the gateway's own record
    assert sum(1 for m in logs if m.startswith("dry run: recorded (not sent) on")) == 5
    assert any(m.startswith("queued: First: The Odyssey") for m in logs)

    # a redelivered message for a finished post does nothing (never post twice)
    from shared.rss.queue import deliver

    done = next(r for r in rows if r["status"] == "dry_run" and str(r["id"]) != str(stale["id"]))
    with connection() as conn:
        v = conn.execute("SELECT version FROM rss_planned_posts WHERE id = %s", (done["id"],)).fetchone()["version"]
    assert deliver(str(done["id"]), v)["stale"] is True


def test_internal_routes_require_a_qstash_signature(client):
    for path in ("/api/internal/rss/tick", "/api/internal/rss/publish", "/api/internal/rss/fetch"):
        r = client.post(path, json={})
        assert r.status_code == 401
