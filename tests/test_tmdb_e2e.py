"""Issue proof: a refresh over the API against the validating TMDb fake schedules captioned posts with the
60-minute gap, each armed as a dispatcher item (no QStash message per post) that fires at its time and records
dry-run publications, a second refresh adds nothing, a moved post is never published early, a deleted post's
item does nothing, and a published post is not published twice."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone

import pytest
from rss_helpers import set_settings, wait_for
from tmdb_support import early_morning_zone, start_fake, tmdb_config


@pytest.fixture
def world(backing):
    tz = early_morning_zone()
    fake, server = start_fake(datetime.now(tz).date())
    with tmdb_config(server.url):
        yield tz, fake, server
    server.stop()


def _pending(backing) -> list:
    return [m for m in backing.emulator.state.messages.values() if m.state == "pending"]


def _fire(backing, message_ids=None) -> None:
    for m in list(backing.emulator.state.messages.values()):
        if m.state == "pending" and (message_ids is None or m.message_id in message_ids):
            m.not_before = time.time()


def _posts(client, auth) -> list[dict]:
    r = client.get("/api/tmdb/posts", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_refresh_schedules_fires_and_dedupes_through_qstash(backing, live_api, client, auth, clean_state, world):
    from shared.db import connection
    from shared.local.tmdb_fake import FAKE_KEY

    tz, fake, _ = world
    set_settings(timezone=tz.key, tmdbKey=FAKE_KEY, publishMode="dry_run", quietHoursEnabled=True,
                 quietHoursStart=0, quietHoursEnd=7)
    published_before = backing.emulator.state.published_count
    backing.redis_counter.reset()
    body = {"settings": {"todayAutoPost": True, "weeklyAutoPost": True, "monthlyAutoPost": True,
                         "anniversaryAutoPost": True, "todayMaxItems": "5", "weeklyMaxItems": 10,
                         "anniversaryYears": [1, 3, 5, 10, 15, 20], "maxPerAnniversary": "2",
                         "anniversaryPlatforms": {"x": True}}}
    r = client.post("/api/tmdb/refresh", json=body, headers=auth)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert fake.refusals == []  # every request the client sent is one TMDb's definitions allow
    titles = {p["title"]: p for p in data["posts"]}
    # passes the filter: US, approved genres, images, popular enough, trending/upcoming, anniversary quality
    assert {"Skyline Protocol", "The Last Orchard", "Midnight Harbor", "Harborline", "Iron Meridian",
            "Cold Frontier", "Small Town Ghosts", "Solar Drift", "The Gilded Cage", "Kingdom of Ash",
            "Echo Canyon", "Steel Horizon", "Crimson Tide Rising"} == set(titles), sorted(titles)
    # each rejected for its rule: documentary, French, unpopular, no backdrop, reality TV, "indie festival",
    # 40-minute runtime, too few votes, rating, budget
    assert data["added"] == 13 and data["errors"] == []
    assert titles["Skyline Protocol"]["source"] == "tmdb_today"
    assert titles["Iron Meridian"]["source"] == "tmdb_weekly"
    assert titles["Solar Drift"]["source"] == "tmdb_monthly"
    assert titles["Echo Canyon"]["source"] == "tmdb_anniversary" and titles["Echo Canyon"]["platforms"] == ["X"]
    assert titles["Skyline Protocol"]["platforms"] == ["X", "Threads"]
    cap = titles["Skyline Protocol"]["caption"]
    assert cap.startswith("#SkylineProtocol releases today.") and len(cap) <= 100
    assert "#EchoCanyon was released 10 years ago today" in titles["Echo Canyon"]["caption"]
    assert titles["Harborline"]["caption"].startswith("#Harborline premieres today.")
    assert titles["Skyline Protocol"]["imageType"] == "poster"
    assert titles["Skyline Protocol"]["imageUrl"].startswith(fake_url_of(world) + "/t/p/w780/")
    # the global 60-minute gap, today's posts from 09:00 local on their own day, nothing in quiet hours
    times = sorted(datetime.fromisoformat(p["scheduledTime"].replace("Z", "+00:00")) for p in data["posts"])
    assert all(b - a >= timedelta(minutes=60) for a, b in itertools.pairwise(times))
    today = datetime.now(tz).date()
    for p in data["posts"]:
        local = datetime.fromisoformat(p["scheduledTime"].replace("Z", "+00:00")).astimezone(tz)
        assert local.hour >= 7
        if p["source"] == "tmdb_today":
            assert local.date() == today and local.hour >= 9  # from 09:00, on the release day itself
        if p["source"] == "tmdb_anniversary":
            assert local.date() == today  # "N years ago today" stays true
    assert min(datetime.fromisoformat(titles[t]["scheduledTime"].replace("Z", "+00:00"))
               for t in ("Skyline Protocol",)).astimezone(tz).strftime("%H:%M") == "09:00"
    # every scheduled post is armed as a dispatcher item at its time: no QStash message per post (at most one
    # wake-up, for the earliest post if it comes before the hourly safety net)
    from shared import clock
    from shared.scheduling import dispatch

    items = dispatch.pending("tmdb.post")
    assert data["armed"] == 13 and len(items) == 13
    for p in data["posts"]:
        assert items[f"tmdb.post|{p['id']}"] == datetime.fromisoformat(
            p["scheduledTime"].replace("Z", "+00:00")).timestamp()
    assert backing.emulator.state.published_count - published_before <= 1
    cold_calls = fake.count()
    assert data["tmdbCalls"] == cold_calls > 0

    # a second refresh finds the same titles and adds nothing: no post, no message, TMDb answered from the cache
    before_msgs = backing.emulator.state.published_count
    again = client.post("/api/tmdb/refresh", json=body, headers=auth).json()["data"]
    assert again["added"] == 0 and again["errors"] == []
    assert backing.emulator.state.published_count == before_msgs
    assert fake.count() - cold_calls <= cold_calls * 0.2
    assert len(dispatch.pending("tmdb.post")) == 13
    with connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM tmdb_posts").fetchone()["n"] == 13
        assert conn.execute("SELECT count(*) AS n FROM tmdb_ledger").fetchone()["n"] == 13

    # move one post three hours later: its one item moves with it; an item still firing at the old time (a
    # race, a copy left behind) finds the post's time later, re-arms it there and publishes nothing early
    moved = titles["Midnight Harbor"]
    member = f"tmdb.post|{moved['id']}"
    old_at = datetime.fromisoformat(moved["scheduledTime"].replace("Z", "+00:00"))
    new_time = old_at + timedelta(hours=3, minutes=7)
    r = client.put(f"/api/tmdb/posts/{moved['id']}", json={"scheduledTime": new_time.isoformat()}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["scheduledTime"].startswith(
        new_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    new_at = dispatch.pending("tmdb.post")[member]
    assert abs(new_at - new_time.timestamp()) < 1
    dispatch.arm([("tmdb.post", moved["id"], old_at.timestamp())], wake=False)  # the stale item
    others = [p for p in data["posts"] if p["id"] != moved["id"]]
    try:
        clock.set_offset(old_at.timestamp() + 1 - time.time())
        for m in list(dispatch.pending("tmdb.post")):  # only the moved post is due in this tick
            if m != member:
                dispatch.disarm("tmdb.post", [dispatch.split(m)[1]])
        report = dispatch.tick()
        assert report.get("ran.tmdb.post") == 1 and report.get("tmdb.rearmed") == 1
        assert abs(dispatch.pending("tmdb.post")[member] - new_time.timestamp()) < 1
        assert next(p for p in _posts(client, auth) if p["id"] == moved["id"])["status"] == "scheduled"
        with connection() as conn:
            assert conn.execute("SELECT count(*) AS n FROM publications WHERE source = 'tmdb'").fetchone()["n"] == 0

        # one post is deleted before its time: its item goes with it (a copy left behind does nothing)
        gone = next(p for p in others if p["title"] != "Skyline Protocol")
        others.remove(gone)
        assert client.delete(f"/api/tmdb/posts/{gone['id']}", headers=auth).status_code == 200
        dispatch.arm([("tmdb.post", p["id"], datetime.fromisoformat(p["scheduledTime"].replace("Z", "+00:00"))
                       .timestamp()) for p in [*others, gone]], wake=False)

        # time passes: every item comes due; each post is published once (dry run) on each of its platforms
        last = max(new_time.timestamp(), *(datetime.fromisoformat(p["scheduledTime"].replace("Z", "+00:00"))
                                           .timestamp() for p in others))
        clock.set_offset(last + 60 - time.time())
        for _ in range(5):
            if not dispatch.pending("tmdb.post"):
                break
            dispatch.tick()
        assert dispatch.pending("tmdb.post") == {}
        # a repeated item (a lease that ran out) finds every post published: nothing twice
        dispatch.arm([("tmdb.post", p["id"], clock.time() - 1) for p in others], wake=False)
        assert dispatch.tick().get("tmdb.stale") == len(others)
    finally:
        clock.set_offset(None)
    wait_for(lambda: all(p["status"] == "published" for p in _posts(client, auth)), timeout=60)
    posts = {p["title"]: p for p in _posts(client, auth)}
    assert posts["Skyline Protocol"]["platformResults"]["x"]["status"] == "dry_run"
    with connection() as conn:
        pubs = conn.execute("SELECT source_ref, platform, state FROM publications WHERE source = 'tmdb'").fetchall()
    expected = sum(len(p["platforms"]) for p in posts.values())
    assert len(pubs) == expected and {p["state"] for p in pubs} == {"dry_run"}
    assert len({(p["source_ref"], p["platform"]) for p in pubs}) == expected  # once per post and platform
    with connection() as conn:
        rehosted = conn.execute("SELECT rehosted_url FROM tmdb_posts WHERE title = 'Skyline Protocol'").fetchone()
        content = conn.execute("SELECT content FROM publications WHERE source = 'tmdb' AND platform = 'threads' "
                               "AND source_ref = %s", (titles["Skyline Protocol"]["id"],)).fetchone()["content"]
    # Threads fetches the image itself: it got our B2 copy (rehostImages is on by default), made once per post
    from shared.config import get_config

    assert rehosted["rehosted_url"] and rehosted["rehosted_url"].startswith(get_config().b2_endpoint_url)
    assert content["imageUrls"] == [rehosted["rehosted_url"]]
    with connection() as conn:
        logs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs WHERE service = 'tmdb'")]
        notes = conn.execute("SELECT count(*) AS n FROM notifications WHERE source = 'tmdb'").fetchone()["n"]
    assert any(m.startswith("TMDb refresh (manual): 13 post(s) added") for m in logs)
    assert sum(1 for m in logs if m.startswith("dry run: recorded (not sent) on")) == expected
    assert notes >= 13  # the refresh, and one per published post


def fake_url_of(world) -> str:
    return world[2].url


def test_internal_tmdb_routes_require_a_qstash_signature(client):
    for path in ("/api/internal/tmdb/refresh", "/api/internal/tmdb/publish"):
        assert client.post(path, json={}).status_code == 401


def test_refresh_without_a_key_says_how_to_fix_it(client, auth, clean_state):
    r = client.post("/api/tmdb/refresh", json={}, headers=auth)
    assert r.status_code == 400
    assert "tmdbKey" in r.json()["error"]["message"]
