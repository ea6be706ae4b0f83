"""The dashboard's routes answer in the contract's shapes (frontend-contract §1.8): every block of DashboardStats,
zeros (not errors) for capabilities not built yet, real numbers for the ones that are; the usage report and the
automation status; the 80 % projection notification, once a month."""

from datetime import datetime, timezone

import pytest

from shared import clock

NUM = (int, float)


pytestmark = pytest.mark.usefixtures("fresh_dashboard_caches")


def _shape(value, spec, path="data"):
    """`spec`: a type (or tuple), a dict of key -> spec, or [spec] for a list of such."""
    if isinstance(spec, dict):
        assert isinstance(value, dict), path
        for key, sub in spec.items():
            assert key in value, f"{path}.{key} missing"
            _shape(value[key], sub, f"{path}.{key}")
    elif isinstance(spec, list):
        assert isinstance(value, list), path
        for i, v in enumerate(value):
            _shape(v, spec[0], f"{path}[{i}]")
    else:
        assert isinstance(value, spec), f"{path}: {value!r} is not {spec}"


OPT_STR = (str, type(None))
SYSTEM = {"cacheHitRate": NUM, "systemErrors": int, "dailyFailures": int, "dailySuccess": int}
STATS = {
    "system": SYSTEM,
    "comments": {"repliesToday": int, "successRate": NUM, "recentReplies": list, "activePlatforms": int},
    "video": {"activeChannels": int, "dailyVideos": int, "trends": [{"date": str, "videos": int}],
              "recentActivity": [{"id": str, "title": str, "channelName": str, "publishedAt": OPT_STR}]},
    "rss": {"activeFeeds": int, "dailyPosted": int,
            "recentFeeds": [{"id": str, "name": str, "status": str, "lastProcessedAt": OPT_STR, "nextRunAt": OPT_STR}]},
    "tmdb": {"readyCount": int, "coverageDays": int, "upcoming": list},
    "designStudio": {"generated": int, "published": int, "recentActivity": list},
    "videoStudio": {"generated": int, "published": int, "recentActivity": list},
    "uploads": {"activeUploads": int, "completedToday": int,
                "pipeline": [{"id": str, "fileName": str, "stage": str, "progress": int, "status": str}]},
    "usage": {"openai": int, "serper": int, "tmdb": int, "shotstack": int, "googleSearch": int, "googleVideo": int,
              "total": int},
    "recentActivity": [{"id": str, "title": str, "platform": str, "status": str, "type": str, "timestamp": str}],
}


def test_an_empty_system_answers_every_block_with_zeros(client, auth, clean_state):
    from shared.usage import meter

    meter.take_batch()  # counts earlier tests left in this process's meter (e.g. a comment poll's run)
    r = client.get("/api/dashboard/stats", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    d = body["data"]
    _shape(d, STATS)
    assert d["tmdb"] == {"readyCount": 0, "coverageDays": 0, "upcoming": []}
    assert d["comments"]["repliesToday"] == 0 and d["rss"]["activeFeeds"] == 0 and d["recentActivity"] == []
    assert len(d["video"]["trends"]) == 7
    sys_ = client.get("/api/dashboard/system-stats", headers=auth).json()["data"]
    _shape(sys_, SYSTEM)
    status = client.get("/api/automation/status", headers=auth).json()["data"]
    for name in ("rss", "tmdb", "comments"):
        _shape(status[name], {"lastRun": OPT_STR, "nextRun": OPT_STR, "status": str, "runsToday": int})
        assert status[name]["status"] == "inactive" and status[name]["runsToday"] == 0


def test_the_blocks_that_exist_count_real_rows(client, auth, clean_state, db):
    from psycopg.types.json import Jsonb

    feed = db.execute("INSERT INTO rss_feeds (name, url, next_run_at) VALUES ('Variety', 'https://v.example/f', "
                      "now() - interval '7 minutes') RETURNING id").fetchone()["id"]
    item = db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status, caption_source) "
                      "VALUES (%s, 'k', 'Dune trailer', 'published', 'ai_cached') RETURNING id", (feed,)).fetchone()
    db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status, caption_source) "
               "VALUES (%s, 'k2', 'Other', 'published', 'ai')", (feed,))
    db.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, status) VALUES (%s, 'x', now(), "
               "'posted')", (item["id"],))
    db.execute("INSERT INTO publications (idempotency_key, platform, family, source, content, state, published_at) "
               "VALUES ('k1', 'x', 'x', 'rss', %s, 'published', now()), "
               "('k2', 'threads', 'threads', 'rss', %s, 'failed', NULL)",
               (Jsonb({"title": "Dune trailer", "text": "t"}), Jsonb({"text": "A failed post"})))
    db.execute("INSERT INTO media_jobs (source_key, preset, file_name, state, stage, progress) VALUES "
               "('raw/a.mp4', 'thumbnail', 'a.mp4', 'running', 'encoding', 40), "
               "('raw/b.mp4', 'thumbnail', 'b.mp4', 'succeeded', 'published', 100)")
    db.execute("UPDATE media_jobs SET finished_at = now() WHERE state = 'succeeded'")
    db.execute("INSERT INTO activity_logs (service, level, message) VALUES ('rss', 'error', 'boom')")
    d = client.get("/api/dashboard/stats", headers=auth).json()["data"]
    _shape(d, STATS)
    assert d["system"] == {"cacheHitRate": 50.0, "systemErrors": 1, "dailyFailures": 1, "dailySuccess": 1}
    assert d["rss"]["activeFeeds"] == 1 and d["rss"]["dailyPosted"] == 1
    due = datetime.fromisoformat(d["rss"]["recentFeeds"][0]["nextRunAt"].replace("Z", "+00:00"))
    assert due > datetime.now(timezone.utc)  # a past next run shows the next one on the feed's interval
    assert d["uploads"]["activeUploads"] == 1 and d["uploads"]["completedToday"] == 1
    assert d["uploads"]["pipeline"] == [{"id": d["uploads"]["pipeline"][0]["id"], "fileName": "a.mp4",
                                         "stage": "encoding", "progress": 40, "status": "processing"}]
    titles = {(a["title"], a["status"]) for a in d["recentActivity"]}
    assert titles == {("Dune trailer", "success"), ("A failed post", "failed")}


def test_usage_report_per_resource_and_the_80_percent_notification(client, auth, clean_state, db):
    from shared.usage import flush, govern, meter

    meter.take_batch()
    meter.count("qstash.messages", 900)  # 900 of 1,000 today: past 80 % whatever the hour
    meter.count("tmdb.calls", 12)
    flush.to_postgres(meter.take_batch())
    r = client.get("/api/usage?fresh=true", headers=auth)
    assert r.status_code == 200
    rep = r.json()["data"]
    by = {x["key"]: x for x in rep["resources"]}
    q = by["qstash.messages"]
    assert q["today"] >= 900 and q["limit"] == 1000 and q["period"] == "day" and q["percent"] >= 90
    assert q["projectedPercent"] >= q["percent"] and "upstash.com" in q["source"] and q["note"].startswith("⚠")
    assert by["tmdb.calls"]["limit"] is None and by["tmdb.calls"]["monthToDate"] >= 12
    assert by["neon.cu_hours"]["limit"] == 100 and "awakeMinutesToday" in by["neon.cu_hours"]
    assert {a["key"] for a in rep["alerts"]} >= {"qstash.messages"}
    assert rep["governor"]["rssCheckMultiplier"] >= 2  # QStash past 90 %: fewer feed checks
    for _ in range(2):  # the window's refresh notifies once a month, not every time
        govern.refresh()
    notes = db.execute("SELECT title FROM notifications ORDER BY created_at").fetchall()
    assert sum(1 for n in notes if n["title"].startswith("QStash messages:")) == 1
    assert sum(1 for n in notes if n["title"] == "Slowed down to stay on the free tier") >= 1
    usage = client.get("/api/dashboard/stats", headers=auth).json()["data"]["usage"]
    assert usage["tmdb"] >= 12 and any(t["key"] == "qstash.messages" for t in usage["freeTiers"])


def test_automation_status_from_the_meter(client, auth, clean_state, db):
    from shared.usage import flush, meter

    db.execute("INSERT INTO rss_feeds (name, url, next_run_at) VALUES ('A', 'https://a.example/f', now())")
    meter.take_batch()
    meter.count("rss.runs", 3)
    meter.gauge("rss.last_run", clock.time() - 60)
    meter.count("comments.runs", 2)
    meter.gauge("comments.last_run", clock.time() - 30)
    flush.to_postgres(meter.take_batch())
    # next runs are what the dispatcher holds armed: the feed's next check, the next TMDb post, the next poll
    import json

    from shared.comments import switch
    from shared.redis_client import get_redis
    from shared.scheduling import dispatch

    now = int(clock.time())
    check, post, poll = now + 600, now + 7200, now + 1200
    dispatch.arm([("rss.probe", "feed-a", check), ("rss.process", "feed-a", now + 3600),
                  ("tmdb.post", "post-b", post), ("tmdb.post", "post-c", post + 3600),
                  ("comments.poll", "all", poll)], wake=False)
    get_redis().hset(dispatch.META_KEY, values={switch.SWITCH_FIELD: json.dumps(
        {"platforms": ["x"], "waiting": [], "intervalMinutes": 10, "checkedAt": now})})
    s = client.get("/api/automation/status", headers=auth).json()["data"]
    assert s["rss"]["status"] == "active" and s["rss"]["runsToday"] == 3
    assert s["comments"]["runsToday"] == 2 and s["comments"]["status"] == "active"
    assert s["tmdb"]["status"] == "inactive"
    iso = {k: datetime.fromisoformat(v["nextRun"].replace("Z", "+00:00")).timestamp() for k, v in s.items()}
    assert iso == {"rss": check, "tmdb": post, "comments": poll}
    # nothing switched on for comments: the poll's hourly look is not a run
    from shared.dashboard.automation import next_runs

    get_redis().hset(dispatch.META_KEY, values={switch.SWITCH_FIELD: json.dumps(
        {"platforms": [], "waiting": [], "intervalMinutes": 10, "checkedAt": now})})
    assert next_runs() == {"rss": check, "tmdb": post, "comments": None}


def test_automation_next_runs_are_kept_a_minute_but_never_past_the_earliest(client, auth, clean_state, db):
    """The status's 15 s cache expiring does not read Redis again: the next runs are kept NEXT_SECONDS, and read
    again as soon as the earliest of them is due (it has run; the dispatcher armed the next)."""
    import time

    from shared.dashboard import automation, stats
    from shared.scheduling import dispatch

    db.execute("INSERT INTO rss_feeds (name, url, next_run_at) VALUES ('A', 'https://a.example/f', now())")
    now = clock.time()
    dispatch.arm([("tmdb.post", "p1", now + 3600)], wake=False)

    def next_tmdb() -> float:
        stats.clear_cache("automation")  # what a poll after the status's 15 s pays
        run = client.get("/api/automation/status", headers=auth).json()["data"]["tmdb"]["nextRun"]
        return datetime.fromisoformat(run.replace("Z", "+00:00")).timestamp()

    assert abs(next_tmdb() - (now + 3600)) < 0.01
    dispatch.arm([("tmdb.post", "p2", now + 1.5)], wake=False)
    assert abs(next_tmdb() - (now + 3600)) < 0.01  # kept: read less than a minute ago, nothing due yet
    stats.clear_cache()
    assert abs(next_tmdb() - (now + 1.5)) < 0.01  # every cache emptied: read again
    time.sleep(max(0.0, now + 1.6 - time.time()))
    dispatch.disarm("tmdb.post", ["p2"])
    assert abs(next_tmdb() - (now + 3600)) < 0.01  # the earliest was due: read again at once
    assert automation.NEXT_SECONDS <= 60
