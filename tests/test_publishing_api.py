"""POST /api/platforms/post as the contract says (JSON or multipart), results + summary, dry-run mode."""

from __future__ import annotations

from psycopg.types.json import Jsonb
from publishing_fakes.world import world  # noqa: F401  (fixture)


def _jpeg(w=1080, h=1080):
    sof = b"\xff\xc0\x00\x11\x08" + h.to_bytes(2, "big") + w.to_bytes(2, "big") + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + sof + b"\x00" * 500


def test_post_json_to_several_platforms(world, client, auth):
    world.connect("x", "threads")
    r = client.post("/api/platforms/post", headers=auth, json={
        "platforms": ["X", "Threads", "Pinterest"], "content": {"text": "Dune: Part Three first look"}})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    by = {res["platform"]: res for res in data["results"]}
    assert by["X"]["status"] == "posted" and by["X"]["id"] and by["X"]["url"] and by["X"]["postedAt"]
    assert by["Threads"]["status"] == "posted"
    assert by["Pinterest"]["status"] == "failed" and "not connected" in by["Pinterest"]["error"]
    assert data["summary"]["total"] == 3 and data["summary"]["posted"] == 2 and data["summary"]["failed"] == 1
    # the client retries the same request: same results, nothing posted again
    r2 = client.post("/api/platforms/post", headers=auth, json={
        "platforms": ["X", "Threads"], "content": {"text": "Dune: Part Three first look"}})
    ids = {res["platform"]: res.get("id") for res in r2.json()["data"]["results"]}
    assert ids["X"] == by["X"]["id"] and ids["Threads"] == by["Threads"]["id"]
    assert len(world.x.posts) == 1 and len(world.threads.posts) == 1


def test_validation_errors_name_the_rule(world, client, auth):
    world.connect("x", "youtube")
    r = client.post("/api/platforms/post", headers=auth, json={
        "platforms": ["X", "YouTubeShorts"], "content": {"text": "a" * 281}})
    res = {x["platform"]: x for x in r.json()["data"]["results"]}
    assert "x.text_length" in res["X"]["error"] and res["X"]["violations"][0]["rule"] == "x.text_length"
    assert "youtube_shorts.video_required" in res["YouTubeShorts"]["error"]
    assert world.x.calls == [] and world.youtube.calls == []


def test_bad_input_gets_contract_errors(world, client, auth):
    r = client.post("/api/platforms/post", headers=auth, json={"platforms": ["Myspace"], "content": {"text": "x"}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = client.post("/api/platforms/post", headers=auth, json={"platforms": [], "content": {}})
    assert r.status_code == 400
    r = client.post("/api/platforms/post", json={"platforms": ["X"], "content": {}})
    assert r.status_code == 401


def test_multipart_small_file_goes_to_b2_first(world, client, auth, backing):
    world.connect("x")
    img = _jpeg()
    r = client.post("/api/platforms/post", headers=auth, data={
        "platforms": '["X"]', "content": '{"text": "poster drop"}'},
        files={"mediaFile": ("poster.jpg", img, "image/jpeg")})
    assert r.status_code == 200, r.text
    res = r.json()["data"]["results"][0]
    assert res["status"] == "posted", res
    media = world.x.media[world.x.posts[0]["media_ids"][0]]
    assert sum(media["segments"]) == len(img)  # X received exactly the bytes, read back from B2
    from shared.storage.s3 import get_storage

    keys = [o["Key"] for o in get_storage().list("publish/uploads/").get("Contents", [])]
    import hashlib

    assert f"publish/uploads/{hashlib.sha256(img).hexdigest()}.jpg" in keys


def test_multipart_retry_posts_once(world, client, auth, db):
    """A client retrying the same upload (no Idempotency-Key) must land on the same publication."""
    world.connect("x")
    img = _jpeg(1200, 800)
    results = []
    for _ in range(2):
        r = client.post("/api/platforms/post", headers=auth, data={
            "platforms": '["X"]', "content": '{"text": "poster drop, retried"}'},
            files={"mediaFile": ("poster.jpg", img, "image/jpeg")})
        assert r.status_code == 200, r.text
        results.append(r.json()["data"]["results"][0])
    assert results[0]["status"] == results[1]["status"] == "posted"
    assert results[0]["publicationId"] == results[1]["publicationId"]
    assert results[0]["id"] == results[1]["id"]
    assert db.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 1
    assert len(world.x.posts) == 1


def test_multipart_over_the_body_limit_points_to_uploads(world, client, auth):
    big = b"\x00" * (4_500_001)
    r = client.post("/api/platforms/post", headers=auth, data={"platforms": '["X"]', "content": "{}"},
                    files={"mediaFile": ("trailer.mp4", big, "video/mp4")})
    assert r.status_code == 413
    assert "/api/uploads" in r.json()["error"]["message"]


def test_dry_run_by_setting_runs_validation_and_records(world, client, auth, db):
    world.connect("x")  # a connected platform's dry run reads "posted"; a not-connected one "skipped"
    db.execute("INSERT INTO settings (key, value) VALUES ('publishMode', %s)", (Jsonb("dry_run"),))
    r = client.post("/api/platforms/post", headers=auth, json={
        "platforms": ["X", "Instagram"], "content": {"text": "try the rules"}})
    res = {x["platform"]: x for x in r.json()["data"]["results"]}
    assert res["X"]["status"] == "posted" and res["X"]["dryRun"] is True
    assert res["X"]["wouldPost"]["text"] == "try the rules"
    assert res["Instagram"]["status"] == "failed" and "instagram.media_required" in res["Instagram"]["error"]
    assert world.total_posts() == 0 and world.x.calls == []
    row = db.execute("SELECT state, dry_run, idempotency_key FROM publications WHERE platform='x'").fetchone()
    assert row["state"] == "dry_run" and row["dry_run"] and row["idempotency_key"].startswith("dry_run:")
    logs = db.execute("SELECT message FROM activity_logs WHERE message LIKE 'dry run%%'").fetchall()
    assert logs


def test_dry_run_by_env_through_the_gateway(world, db, monkeypatch):
    from shared.config import get_config
    from shared.publishing.gateway import PublishRequest, publish

    monkeypatch.setenv("PUBLISH_MODE", "dry_run")
    get_config.cache_clear()
    try:
        out = publish(PublishRequest("rss:item1:x", "x", {"text": "would post"}, "rss", "item1"))
        assert out.status == "dry_run" and out.details["wouldPost"]["text"] == "would post"
        bad = publish(PublishRequest("rss:item1:pinterest", "pinterest", {"text": "no image"}, "rss"))
        assert bad.status == "failed" and "pinterest.media_required" in bad.error
    finally:
        monkeypatch.setenv("PUBLISH_MODE", "live")
        get_config.cache_clear()
    assert world.total_posts() == 0
    # going live later is a new publication for the same key, not the dry-run record
    world.connect("x")
    out = publish(PublishRequest("rss:item1:x", "x", {"text": "would post"}, "rss", "item1"))
    assert out.status == "published" and len(world.x.posts) == 1


def test_gateway_retries_not_connected_once_connected(world):
    from shared.publishing.gateway import PublishRequest, publish

    r = PublishRequest("rss:9:threads", "threads", {"text": "hello"}, "rss")
    assert publish(r).status == "failed"
    world.connect("threads")
    assert publish(r).status == "published"
    assert publish(r).status == "published" and len(world.threads.posts) == 1


def test_status_lists_every_platform(world, client, auth):
    world.connect("x")
    data = client.get("/api/platforms/status", headers=auth).json()["data"]
    assert set(data) == {"X", "Threads", "Facebook", "Instagram", "TikTok", "YouTube", "Pinterest"}
    assert data["X"]["connected"] is True and data["X"]["expiresAt"].endswith("Z")
    assert data["TikTok"] == {"connected": False}
