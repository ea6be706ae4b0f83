"""The maintenance tick (QStash-called): stuck claims settled, overdue rows run, tokens refreshed, keys
rotated; plus media URLs handed to pulling platforms and the YouTube privacy default."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import httpx
from psycopg.types.json import Jsonb
from publishing_fakes.world import world  # noqa: F401  (fixture)

from shared.publishing.gateway import PublishRequest, publish


def _deliver(live_api, path, body, message_id):
    from shared.config import get_config
    from shared.local.qstash_emulator import sign

    cfg = get_config()
    raw = json.dumps(body).encode()
    return httpx.post(live_api.url + path, content=raw, timeout=30, headers={
        "Upstash-Signature": sign(raw, cfg.public_base_url + path, cfg.qstash_current_signing_key),
        "Upstash-Message-Id": message_id, "Content-Type": "application/json"})


def test_maintenance_settles_stuck_runs_overdue_and_refreshes(world, live_api, db):
    world.connect("x", expires_in=timedelta(hours=8))  # beyond the next tick and its hour of slack
    # expiring before the next 6-hourly tick: refreshed now (a lapsed Threads long-lived token could not be)
    world.connect("threads", expires_in=timedelta(hours=5))
    # expiring as soon, but a refresh token outlives it: refreshed when a publish needs it, not by the tick
    world.connect("tiktok", expires_in=timedelta(hours=5))
    # its refresh token itself expires within a week: the tick renews it
    world.connect("pinterest", expires_in=timedelta(days=20))
    db.execute("UPDATE platform_connections SET refresh_expires_at = now() + interval '3 days' "
               "WHERE platform = 'pinterest'")
    from shared.publishing.engine import publications as pubs

    # a claim whose worker vanished after sending the post (the post exists on X)
    row, _ = pubs.create_or_get(key="stuck", target="x", family="x", source="rss", source_ref=None,
                                content={"text": "stuck one"}, dry_run=False, not_before=None)
    world.x.record_post(text="stuck one", media_ids=[])
    db.execute("""UPDATE publications SET state='publishing', claimed_at=now() - interval '1 hour',
                  lease_until=now() - interval '45 minutes',
                  claim_token=gen_random_uuid(), progress='{"commit_sent": true, "text_key": "stuck one"}'::jsonb
                  WHERE id=%s""", (row["id"],))
    db.execute("UPDATE publications SET progress = progress || jsonb_build_object('commit_at', "
               "extract(epoch from now())) WHERE id=%s", (row["id"],))
    # a planned row whose QStash message never came
    row2, _ = pubs.create_or_get(key="overdue", target="threads", family="threads", source="rss", source_ref=None,
                                 content={"text": "overdue"}, dry_run=False, not_before=None)
    db.execute("UPDATE publications SET created_at = now() - interval '1 hour' WHERE id=%s", (row2["id"],))
    r = _deliver(live_api, "/api/internal/publishing/maintenance", {}, "msg_maint_1")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["stuck"]["published"] == 1 and data["overdue"] == 1
    assert data["tokens"] == {"threads": "refreshed", "pinterest": "refreshed"}
    renewed = db.execute("SELECT refresh_expires_at - now() AS left FROM platform_connections "
                         "WHERE platform = 'pinterest'").fetchone()["left"]
    assert renewed > timedelta(days=7)
    assert pubs.get(str(row["id"]))["state"] == "published" and len(world.x.posts) == 1
    assert pubs.get(str(row2["id"]))["state"] == "published" and len(world.threads.posts) == 1
    # the same message again does nothing
    r = _deliver(live_api, "/api/internal/publishing/maintenance", {}, "msg_maint_1")
    assert r.json()["data"] == {"duplicate": True, "messageId": "msg_maint_1"}
    # a stale run message for a settled publication does nothing
    r = _deliver(live_api, "/api/internal/publishing/run", {"publicationId": str(row2["id"])}, "msg_stale")
    assert r.json()["data"]["state"] == "published" and len(world.threads.posts) == 1


def test_key_rotation_reencrypts_tokens(world, db, monkeypatch):
    from shared.config import get_config
    from shared.publishing.connections import store

    world.connect("x")
    token = store.get("x").access_token
    old_keys = os.environ["ENCRYPTION_KEYS"]
    new_key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{new_key},{old_keys}")
    get_config.cache_clear()
    try:
        assert store.rotate_keys() == 1
        assert store.rotate_keys() == 0
        monkeypatch.setenv("ENCRYPTION_KEYS", new_key)  # the old key is retired
        get_config.cache_clear()
        assert store.get("x").access_token == token
    finally:
        monkeypatch.setenv("ENCRYPTION_KEYS", old_keys)
        get_config.cache_clear()


def test_b2_media_is_handed_over_as_a_long_lived_presigned_url(world):
    from shared.storage.s3 import get_storage

    world.connect("instagram")
    sof = b"\xff\xc0\x00\x11\x08" + (1350).to_bytes(2, "big") + (1080).to_bytes(2, "big") + b"\x03" + b"\x00" * 9
    get_storage().put_bytes("publish/test/poster.jpg", b"\xff\xd8" + sof + b"\x00" * 300, "image/jpeg")
    out = publish(PublishRequest("ig-b2", "instagram", {"text": "poster", "imageUrl": "b2://publish/test/poster.jpg"},
                                 "compose"))
    assert out.status == "published", out
    container = next(iter(world.meta.containers.values()))
    url = container["params"]["image_url"]
    assert "X-Amz-Expires=604800" in url and "X-Amz-Signature=" in url  # 7 days: outlives IG's 24 h
    assert httpx.get(url).status_code == 200  # readable by the platform as it is


def test_youtube_privacy_default_comes_from_settings(world, db):
    db.execute("INSERT INTO settings (key, value) VALUES ('platformSettings', %s)",
               (Jsonb({"youtube": {"defaultPrivacy": "unlisted", "madeForKids": False}}),))
    world.connect("youtube")
    url = world.media.add("v.mp4", b"\x00" * 3000, "video/mp4")
    out = publish(PublishRequest("yt-priv", "youtube", {"youtubeTitle": "T", "videoUrl": url}, "media"))
    assert out.status == "published"
    assert world.youtube.posts[0]["privacy"] == "unlisted"
    out = publish(PublishRequest("yt-priv2", "youtube", {"youtubeTitle": "T2", "videoUrl": url,
                                                         "youtubePrivacy": "public"}, "media"))
    assert world.youtube.posts[1]["privacy"] == "public"


def test_b2_video_is_read_through_presigned_get(world):
    from shared.storage.s3 import get_storage

    world.connect("youtube", "tiktok")
    data = bytes(range(256)) * 2000
    get_storage().put_bytes("publish/test/clip.mp4", data, "video/mp4")
    out = publish(PublishRequest("yt-b2", "youtube", {"youtubeTitle": "B2 clip", "videoUrl": "b2://publish/test/clip.mp4",
                                                      "videoDurationSeconds": 20}, "media"))
    assert out.status == "published", out
    s = next(iter(world.youtube.sessions.values()))
    assert s["size"] == len(data) and s["held"] == len(data)
    out = publish(PublishRequest("tt-b2", "tiktok", {"text": "B2 clip", "videoUrl": "b2://publish/test/clip.mp4",
                                                     "videoDurationSeconds": 20}, "media"))
    assert out.status == "published", out
    assert world.tiktok.posts[0]["chunks"] == [len(data)]


def test_the_token_refresh_reaches_past_the_next_maintenance_tick():
    """A token expiring between two ticks would lapse (Meta and Threads long-lived tokens cannot be refreshed
    once expired): the refresh window is longer than the registered schedule's period, whatever it is."""
    from croniter import croniter

    from shared.messaging.schedules import get
    from shared.publishing.connections.refresh import refresh_margin

    cron = get("publishing-maintenance").cron
    fires = croniter(cron, datetime(2026, 1, 1, tzinfo=timezone.utc))
    times = [fires.get_next(datetime) for _ in range(9)]
    longest_gap = max(later - earlier for earlier, later in pairwise(times))
    assert refresh_margin() > longest_gap >= timedelta(hours=1)


def test_the_tick_refreshes_what_would_lapse_and_leaves_refresh_tokens_to_publishing():
    """Threads' token is refreshed with itself and dies with its expiry: refreshed before the next tick. An access
    token backed by a refresh token is left alone (refreshed on demand; X's 2 h tokens would otherwise rotate
    their refresh token at every tick), unless the refresh token itself expires within a week."""
    from shared.publishing.connections.refresh import tick_refresh_due

    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    margin = timedelta(hours=7)

    def row(platform, expires_in, refreshable=True, refresh_expires_in=None, status="connected"):
        return {"platform": platform, "status": status, "refreshable": refreshable,
                "expires_at": None if expires_in is None else now + expires_in,
                "refresh_expires_at": None if refresh_expires_in is None else now + refresh_expires_in}

    assert tick_refresh_due(row("threads", timedelta(hours=5)), margin, now)  # a (fake) refresh token changes nothing
    assert not tick_refresh_due(row("threads", timedelta(hours=8)), margin, now)
    assert tick_refresh_due(row("threads", timedelta(hours=5), refreshable=False), margin, now)
    assert not tick_refresh_due(row("x", timedelta(hours=1)), margin, now)
    assert not tick_refresh_due(row("x", -timedelta(hours=30)), margin, now)  # expired long ago: still refreshable
    assert not tick_refresh_due(row("tiktok", timedelta(hours=5), refresh_expires_in=timedelta(days=300)), margin, now)
    assert tick_refresh_due(row("tiktok", timedelta(hours=20), refresh_expires_in=timedelta(days=6)), margin, now)
    assert tick_refresh_due(row("youtube", timedelta(hours=1), refreshable=False), margin, now)  # no refresh token
    assert not tick_refresh_due(row("facebook", None, refreshable=False), margin, now)  # page tokens do not expire
    assert not tick_refresh_due(row("threads", timedelta(hours=1), status="needs_reconnect"), margin, now)


def test_an_authorization_that_a_refresh_cannot_extend_asks_the_owner_to_reconnect_once(world, db, monkeypatch):
    """TikTok documents `refresh_expires_in` as the remaining lifetime: when a refresh leaves the refresh token
    expiring within a week, the grant itself ends then, and the owner is asked to reconnect before it does, once."""
    from publishing_fakes import tiktok as tiktok_fake

    from shared.publishing.connections.refresh import refresh_due

    world.connect("tiktok", expires_in=timedelta(hours=1))
    db.execute("UPDATE platform_connections SET refresh_expires_at = now() + interval '5 days' "
               "WHERE platform = 'tiktok'")
    monkeypatch.setattr(tiktok_fake, "REFRESH_SECONDS", 4 * 86400)  # what is left of the grant, not a new one
    assert refresh_due() == {"tiktok": "refreshed"}
    time.sleep(1.1)  # the next tick: the end TikTok reports has moved by a second, still the same grant
    assert refresh_due() == {"tiktok": "refreshed"}  # the next tick refreshes again (it might extend), tells nothing
    told = db.execute("SELECT title, message FROM notifications "
                      "WHERE title LIKE 'Reconnect TikTok before%%'").fetchall()
    assert len(told) == 1 and "will not extend" in told[0]["message"], told
    assert db.execute("SELECT status FROM platform_connections WHERE platform = 'tiktok'").fetchone()["status"] == \
        "connected"

    monkeypatch.setattr(tiktok_fake, "REFRESH_SECONDS", 180 * 86400)  # a refresh that does extend: nothing to say
    db.execute("DELETE FROM notifications")
    from shared.redis_client import get_redis

    get_redis().delete("oauth:expiring:tiktok")  # whatever was said before
    refresh_due()
    assert db.execute("SELECT count(*) AS n FROM notifications").fetchone()["n"] == 0
