"""The TMDb page's routes as the contract gives them (§1.5), the caption endpoint (§1.9), bad input, the
settings-driven refresh schedules, and retention."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from foundation_helpers import assert_error
from rss_fakes import FakeOpenAI
from rss_helpers import set_settings
from tmdb_support import fake_world

TODAY = date(2026, 5, 20)


@pytest.fixture
def fake(backing, clean_state):
    with fake_world(TODAY) as world:
        yield world


def _post_body(**kw):
    body = {"tmdbId": 11, "mediaType": "movie", "title": "Star Wars", "year": 1977, "releaseDate": "1977-05-25",
            "caption": "#StarWars was released 49 years ago today.", "imageUrl": "https://image.tmdb.org/t/p/w780/x.jpg",
            "imageType": "poster", "scheduledTime": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat(),
            "source": "tmdb_anniversary", "cast": ["Mark Hamill"], "popularity": 20.5, "cacheHit": False,
            "status": "queued", "platforms": ["X"], "anniversaryYears": 49}
    body.update(kw)
    return body


def test_posts_crud_undo_and_stale_messages(backing, live_api, client, auth, clean_state):
    from shared.db import connection

    set_settings()
    r = client.post("/api/tmdb/posts", json=_post_body(), headers=auth)
    assert r.status_code == 200, r.text
    post = r.json()["data"]
    assert post["status"] == "queued" and post["platforms"] == ["X"] and post["source"] == "tmdb_anniversary"
    listed = client.get("/api/tmdb/posts", headers=auth).json()["data"]
    assert [p["id"] for p in listed] == [post["id"]]
    # schedule it (approve): armed as a dispatcher item at its time
    r = client.put(f"/api/tmdb/posts/{post['id']}", json={"status": "scheduled"}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["status"] == "scheduled"
    from shared.scheduling import dispatch

    with connection() as conn:
        row = conn.execute("SELECT version, scheduled_at FROM tmdb_posts WHERE id = %s", (post["id"],)).fetchone()
    assert dispatch.pending("tmdb.post") == {f"tmdb.post|{post['id']}": row["scheduled_at"].timestamp()}
    # caption/image edits keep the armed message; status/time changes make it stale
    r = client.put(f"/api/tmdb/posts/{post['id']}", json={"caption": "New caption", "imageType": "backdrop"},
                   headers=auth)
    assert r.json()["data"]["caption"] == "New caption"
    with connection() as conn:
        assert conn.execute("SELECT version FROM tmdb_posts WHERE id = %s", (post["id"],)).fetchone()["version"] == \
            row["version"]
    # the client published it by hand: recorded, its item leaves the dispatcher (and one that still came would
    # do nothing)
    r = client.put(f"/api/tmdb/posts/{post['id']}", json={"status": "published",
                                                        "publishedTime": "2026-05-20T10:00:00Z", "errorMessage": None},
                   headers=auth)
    assert r.json()["data"]["status"] == "published" and r.json()["data"]["publishedTime"] == "2026-05-20T10:00:00Z"
    from shared.tmdb.delivery import deliver

    assert deliver(post["id"], row["version"])["stale"] is True
    assert dispatch.pending("tmdb.post") == {}
    # delete, then undo by POSTing the same post back: same id, nothing duplicated; a repeated undo is a no-op
    full = client.get("/api/tmdb/posts", headers=auth).json()["data"][0]
    assert client.delete(f"/api/tmdb/posts/{post['id']}", headers=auth).status_code == 200
    assert client.get("/api/tmdb/posts", headers=auth).json()["data"] == []
    assert_error(client.delete(f"/api/tmdb/posts/{post['id']}", headers=auth), 404, "NOT_FOUND")
    for _ in range(2):
        r = client.post("/api/tmdb/posts", json={k: v for k, v in full.items() if v is not None}, headers=auth)
        assert r.status_code == 200 and r.json()["data"]["id"] == post["id"]
    assert len(client.get("/api/tmdb/posts", headers=auth).json()["data"]) == 1
    with connection() as conn:
        ledger = conn.execute("SELECT status, post_id FROM tmdb_ledger").fetchall()
    assert len(ledger) == 1 and str(ledger[0]["post_id"]) == post["id"]


BAD_INPUT = [
    ("post", "/api/tmdb/posts", {"title": "x"}, 400, "VALIDATION_ERROR"),
    ("post", "/api/tmdb/posts", "BODY:mediaType=book", 400, "VALIDATION_ERROR"),
    ("post", "/api/tmdb/posts", "BODY:platforms=TikTok", 400, "VALIDATION_ERROR"),
    ("post", "/api/tmdb/posts", "BODY:scheduledTime=tomorrow", 400, "VALIDATION_ERROR"),
    ("put", "/api/tmdb/posts/not-a-uuid", {"caption": "x"}, 404, "NOT_FOUND"),
    ("put", "/api/tmdb/posts/00000000-0000-0000-0000-000000000000", {"caption": "x"}, 404, "NOT_FOUND"),
    ("put", "/api/tmdb/posts/{id}", {"status": "dispatched"}, 400, "VALIDATION_ERROR"),
    ("put", "/api/tmdb/posts/{id}", {"scheduledTime": None}, 400, "VALIDATION_ERROR"),
    ("put", "/api/tmdb/posts/{id}", {"caption": "x" * 2001}, 400, "VALIDATION_ERROR"),
    ("post", "/api/tmdb/refresh", {"settings": {"todayMaxItems": {"a": 1}}}, 400, "VALIDATION_ERROR"),
    ("post", "/api/tmdb/refresh", {"settings": {"preferredImage": "logo"}}, 400, "VALIDATION_ERROR"),
    ("get", "/api/tmdb/search", None, 400, "VALIDATION_ERROR"),
    ("get", "/api/tmdb/images/person/11", None, 400, "VALIDATION_ERROR"),
    ("get", "/api/tmdb/images/movie/abc", None, 400, "VALIDATION_ERROR"),
    ("post", "/api/ai/generate/tmdb-caption", {"title": "X", "temporalTag": "yesterday"}, 400, "VALIDATION_ERROR"),
    ("post", "/api/ai/generate/tmdb-caption", {"title": "X", "temporalTag": "anniversary"}, 400, "VALIDATION_ERROR"),
]


def test_bad_input_is_refused_and_changes_nothing(client, auth, clean_state):
    from shared.db import connection

    set_settings()
    existing = client.post("/api/tmdb/posts", json=_post_body(), headers=auth).json()["data"]
    for method, path, body, status, code in BAD_INPUT:
        if isinstance(body, str) and body.startswith("BODY:"):
            k, v = body[5:].split("=")
            body = _post_body(**{k: [v] if k == "platforms" else v})
        kwargs = {"headers": auth}
        if body is not None:
            kwargs["json"] = body
        resp = getattr(client, method)(path.replace("{id}", existing["id"]), **kwargs)
        assert_error(resp, status, code)
        with connection() as conn:
            rows = conn.execute("SELECT id, caption, status, scheduled_at FROM tmdb_posts").fetchall()
        assert len(rows) == 1 and rows[0]["caption"] == existing["caption"] and rows[0]["status"] == "queued", path


def test_every_tmdb_route_needs_a_login(client):
    for method, path in (("get", "/api/tmdb/posts"), ("post", "/api/tmdb/posts"), ("post", "/api/tmdb/refresh"),
                         ("get", "/api/tmdb/search?query=x"), ("get", "/api/tmdb/images/movie/1"),
                         ("put", "/api/tmdb/posts/1"), ("delete", "/api/tmdb/posts/1"),
                         ("post", "/api/ai/generate/tmdb-caption")):
        assert getattr(client, method)(path).status_code == 401, path


def test_search_and_image_pool(client, auth, fake):
    from shared.local.tmdb_fake import FAKE_KEY

    f, server = fake
    set_settings(tmdbKey=FAKE_KEY)
    r = client.get("/api/tmdb/search", params={"query": "ava"}, headers=auth)
    assert r.status_code == 200, r.text
    people = [x for x in r.json()["data"] if x["mediaType"] == "person"]
    assert people and people[0]["title"] == "Ava Stone" and people[0]["profile"].startswith(server.url + "/t/p/w185/")
    r = client.get("/api/tmdb/search", params={"query": "skyline"}, headers=auth).json()["data"]
    assert r[0] == {"id": r[0]["id"], "mediaType": "movie", "title": "Skyline Protocol",
                    "backdrop": r[0]["backdrop"], "poster": r[0]["poster"], "profile": None,
                    "releaseDate": TODAY.isoformat()}
    pool = client.get(f"/api/tmdb/images/movie/{r[0]['id']}", headers=auth).json()["data"]
    assert len(pool["posters"]) == 2 and len(pool["backdrops"]) == 2 and len(pool["logos"]) == 1
    assert pool["posters"][0]["url"] == server.url + "/t/p/original" + pool["posters"][0]["path"]
    assert_error(client.get("/api/tmdb/images/tv/1", headers=auth), 404, "NOT_FOUND")
    assert [x["status"] for x in f.refusals] == [404]  # only the title that does not exist


def test_tmdb_caption_template_and_ai(client, auth, clean_state, backing):
    from shared.config import get_config
    from shared.local.services import ServerThread

    set_settings(captionMaxLength="100")
    body = {"title": "Inside Out 2", "mediaType": "movie", "temporalTag": "releasing_today", "daysUntil": 0,
            "releaseDate": "2026-05-20", "cast": ["Amy Poehler", "Maya Hawke", "Kensington Tallman", "Liza Lapira"],
            "genres": ["Animation"], "platform": "X", "model": "gpt-5.4-nano", "customSystemPrompt": ""}
    r = client.post("/api/ai/generate/tmdb-caption", json=body, headers=auth)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["content"].startswith("#InsideOut2 releases today.") and data["source"] == "template"
    assert data["charCount"] <= 100
    week = client.post("/api/ai/generate/tmdb-caption", headers=auth,
                       json={**body, "temporalTag": "this_week", "daysUntil": 4,
                             "releaseDate": "2026-05-24"}).json()["data"]
    assert week["temporalTag"] == "releasing_this_week" and "Sunday, May 24" in week["content"]
    fake_ai = FakeOpenAI()
    fake_ai.reply = "#InsideOut2 hits theaters today with Amy Poehler back as Joy. " + "Big feelings ahead! " * 6
    server = ServerThread(fake_ai.app).start()
    import os

    os.environ["OPENAI_BASE_URL"] = server.url + "/v1"
    get_config.cache_clear()
    try:
        set_settings(openaiKey="sk-test", tmdbCaptionModel="gpt-5.4-mini", todayPrompt="Be brief. Max {limit}.")
        for expect in ("ai", "ai_cached"):
            data = client.post("/api/ai/generate/tmdb-caption", json={**body, "model": None},
                               headers=auth).json()["data"]
            assert data["source"] == expect and data["charCount"] <= 100 and data["content"].startswith("#InsideOut2")
        assert len(fake_ai.requests) == 1  # the second came from the caption cache
        sent = fake_ai.requests[0]
        assert sent["model"] == "gpt-5.4-mini" and sent["messages"][0]["content"].startswith("Be brief. Max 100.")
        assert "Timing: releasing_today" in sent["messages"][1]["content"]
        set_settings(openaiKey="sk-wrong")
        assert_error(client.post("/api/ai/generate/tmdb-caption", json={**body, "title": "Other"}, headers=auth),
                     502, "API_ERROR")
    finally:
        os.environ.pop("OPENAI_BASE_URL", None)
        get_config.cache_clear()
        server.stop()


def test_refresh_schedules_follow_the_owners_time_and_zone(backing, client, auth, clean_state):
    from shared.messaging import schedules

    set_settings(timezone="America/New_York", tmdbDailyRefreshTime="06:30")
    schedules.sync()
    ours = backing.emulator.state.schedules
    assert ours["screndly-tmdb-refresh"].cron == "CRON_TZ=America/New_York 30 6 * * *"
    assert ours["screndly-tmdb-midday"].cron == "CRON_TZ=America/New_York 0 12 * * *"
    assert ours["screndly-tmdb-refresh"].body == b'{"trigger":"daily"}'
    # the owner changes the time in Settings: the schedule follows at once, no deploy needed
    r = client.put("/api/settings", json={"tmdbDailyRefreshTime": "11:15", "timezone": "Asia/Tokyo"}, headers=auth)
    assert r.status_code == 200
    assert ours["screndly-tmdb-refresh"].cron == "CRON_TZ=Asia/Tokyo 15 11 * * *"
    assert ours["screndly-tmdb-midday"].cron == "CRON_TZ=Asia/Tokyo 0 15 * * *"
    assert len(list(schedules.SCHEDULES)) <= schedules.FREE_TIER_SCHEDULES
    assert schedules.sync().unchanged  # a deploy's sync agrees with what the change wrote


def test_scheduled_refresh_route_runs_signed_and_without_a_key_only_logs(backing, live_api, clean_state):
    from shared.db import connection
    from shared.messaging import schedules

    schedules.sync()
    r = httpx.post(backing.env["QSTASH_URL"] + "/_emulator/schedules/screndly-tmdb-midday/trigger")
    mid = r.json()["messageId"]
    from rss_helpers import wait_for

    hit = wait_for(lambda: [d for d in backing.emulator.state.deliveries
                            if d.get("messageId") == mid and "status" in d])
    assert hit[0]["status"] == 200
    with connection() as conn:
        logs = [x["message"] for x in conn.execute("SELECT message FROM activity_logs WHERE service = 'tmdb'")]
    assert any("TMDb refresh (midday) skipped: no TMDb API key" in m for m in logs)


def test_retention_prunes_finished_and_stale_queued_posts(clean_state):
    from shared.db import connection
    from shared.maintenance.cleanup import CleanupContext
    from shared.settings.store import read_settings
    from shared.tmdb.retention import prune

    now = datetime.now(timezone.utc)
    with connection() as conn:
        for title, status, at, published in [
            ("old published", "published", now - timedelta(hours=30), now - timedelta(hours=30)),
            ("new published", "published", now - timedelta(hours=2), now - timedelta(hours=2)),
            ("old queued", "queued", now - timedelta(days=8), None),
            ("fresh queued", "queued", now - timedelta(days=1), None),
            ("far scheduled", "scheduled", now - timedelta(days=30), None),
        ]:
            conn.execute("INSERT INTO tmdb_posts (tmdb_id, media_type, source, title, status, scheduled_at, "
                         "published_at) VALUES (1, 'movie', 'tmdb_today', %s, %s, %s, %s)",
                         (title, status, at, published))
        conn.execute("INSERT INTO tmdb_ledger (cycle_key, tmdb_id, media_type, module, release_date, created_at) "
                     "VALUES ('old', 1, 'movie', 'today', '2026-01-01', now() - interval '70 days'), "
                     "('new', 1, 'movie', 'today', '2026-05-01', now() - interval '5 days')")
        conn.execute("INSERT INTO tmdb_caption_cache (content_hash, caption, created_at) VALUES "
                     "('a', 'x', now() - interval '40 days'), ('b', 'y', now())")
    out = prune(CleanupContext(settings=read_settings(), now=now))
    assert out == {"posts": 1, "queued": 1, "ledger": 1, "captions": 1}
    with connection() as conn:
        left = sorted(r["title"] for r in conn.execute("SELECT title FROM tmdb_posts"))
    assert left == ["far scheduled", "fresh queued", "new published"]


def test_a_tmdb_outage_in_one_part_says_why_and_leaves_the_rest_whole(fake, monkeypatch):
    from shared.db import connection
    from shared.local.tmdb_fake import FAKE_KEY
    from shared.tmdb import client, service

    f, _ = fake
    monkeypatch.setattr(client, "RETRY_BASE_SECONDS", 0.01)
    f.failing.add("discover-tv")
    set_settings(tmdbKey=FAKE_KEY, timezone="UTC")
    now = datetime.combine(TODAY, datetime.min.time(), timezone.utc).replace(hour=3)
    report = service.refresh({"anniversaryYears": [10, 20]}, trigger="test", now=now)
    assert any("discover" in e and "/tv" in e and "503" in e for e in report.errors), report.errors
    assert report.added > 0 and all(p["mediaType"] == "movie" for p in report.posts)
    with connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM tmdb_ledger WHERE media_type = 'tv'").fetchone()["n"] == 0
        logs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs WHERE service = 'tmdb'")]
    assert any(m.startswith("TMDb refresh (test):") and "error(s)" in m for m in logs)
    # TMDb back: the next refresh adds the TV titles and nothing twice
    f.failing.clear()
    again = service.refresh({"anniversaryYears": [10, 20]}, trigger="test", now=now)
    assert again.errors == [] and again.added > 0 and all(p["mediaType"] == "tv" for p in again.posts)


def test_a_delivery_that_died_midway_is_settled_from_the_publications_never_reposted(client, auth, clean_state):
    from shared.db import connection
    from shared.publishing.gateway import PublishRequest, publish
    from shared.tmdb.delivery import reconcile_publishing

    set_settings()
    post = client.post("/api/tmdb/posts", json=_post_body(platforms=["X", "Threads"]), headers=auth).json()["data"]
    # X was published (dry run) through the gateway, then the process died before recording; Threads never ran
    publish(PublishRequest(idempotency_key=f"tmdb:{post['id']}:x", platform="x", source="tmdb",
                           source_ref=post["id"], content={"text": "hello"}))
    with connection() as conn:
        conn.execute("UPDATE tmdb_posts SET status = 'publishing', updated_at = now() - interval '20 minutes' "
                     "WHERE id = %s", (post["id"],))
    assert reconcile_publishing() == 1
    got = client.get("/api/tmdb/posts", headers=auth).json()["data"][0]
    assert got["status"] == "published"  # X took it; Threads is named as failed, nothing was re-posted
    assert got["platformResults"]["x"]["status"] == "dry_run"
    assert "nothing was sent" in got["platformResults"]["threads"]["error"]
    with connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 1
