"""Each adapter against its platform fake: the documented sequence, happy paths and documented failures."""

from __future__ import annotations

from publishing_fakes.pinterest import BOARD
from publishing_fakes.world import world  # noqa: F401  (fixture)

from shared.publishing.gateway import PublishRequest, publish

MB = 1024 * 1024


def _jpeg(w: int = 1080, h: int = 1080) -> bytes:
    # a minimal JPEG header with an SOF0 segment is enough for the size probe; the fakes never decode it
    sof = b"\xff\xc0\x00\x11\x08" + h.to_bytes(2, "big") + w.to_bytes(2, "big") + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + b"\x00" * 2000


def pub(platform: str, content: dict, key: str | None = None, source: str = "compose"):
    return publish(PublishRequest(idempotency_key=key or f"t:{platform}:{content.get('text', '')}",
                                  platform=platform, content=content, source=source))


def test_x_text_post(world):
    world.connect("x")
    out = pub("x", {"text": "hello movie fans"})
    assert out.status == "published", out
    assert world.x.posts[0]["text"] == "hello movie fans"
    assert out.url == f"https://x.com/screndly/status/{out.platform_post_id}"


def test_x_images_and_chunked_video(world, monkeypatch):
    from shared.publishing.adapters import x as xad

    monkeypatch.setattr(xad, "SEGMENT_BYTES", 1 * MB)
    world.connect("x")
    imgs = [world.media.add(f"i{i}.jpg", _jpeg(), "image/jpeg") for i in range(2)]
    out = pub("x", {"text": "two stills", "imageUrls": imgs})
    assert out.status == "published", out
    assert len(world.x.posts[0]["media_ids"]) == 2
    video = bytes(range(256)) * (4 * 4096 + 7)  # ~4.2 MB -> 5 segments of 1 MB
    url = world.media.add("t.mp4", video, "video/mp4")
    out = pub("x", {"text": "trailer", "videoUrl": url, "videoDurationSeconds": 60})
    assert out.status == "published", out
    media = world.x.media[world.x.posts[1]["media_ids"][0]]
    assert media["segments"] == [MB] * 4 + [len(video) - 4 * MB]  # ordered, sized, summing to total
    assert media["category"] == "amplify_video" and media["polls"] >= 2  # STATUS polled until succeeded


def test_x_text_too_long_is_refused_before_any_call(world):
    world.connect("x")
    out = pub("x", {"text": "é" * 200 + " 🎬" * 50})
    assert out.status == "failed"
    assert "x.text_length" in out.error
    assert not any(name == "tweet" for name, _ in world.x.calls)


def test_x_duplicate_content_is_a_clear_content_failure(world):
    world.connect("x")
    assert pub("x", {"text": "same words"}, key="a").status == "published"
    out = pub("x", {"text": "same words"}, key="b")
    assert out.status == "failed" and "duplicate" in out.error.lower()
    assert out.details["kind"] == "content"
    assert len(world.x.posts) == 1


def test_threads_text_image_carousel_video(world):
    world.connect("threads")
    img = world.media.add("a.jpg", _jpeg(), "image/jpeg")
    img2 = world.media.add("b.jpg", _jpeg(), "image/jpeg")
    vid = world.media.add("v.mp4", b"\x00" * 5000, "video/mp4")
    assert pub("threads", {"text": "just words"}).status == "published"
    assert pub("threads", {"text": "one image", "imageUrl": img}).status == "published"
    assert pub("threads", {"text": "carousel", "imageUrls": [img, img2]}).status == "published"
    out = pub("threads", {"text": "a video", "videoUrl": vid})
    assert out.status == "published", out
    kinds = [p["media_type"] for p in world.threads.posts]
    assert kinds == ["TEXT", "IMAGE", "CAROUSEL", "VIDEO"]
    video_container = world.threads.containers[world.threads.posts[-1]["container"]]
    assert video_container["polls"] >= 2  # polled to FINISHED before threads_publish
    assert out.url.startswith("https://www.threads.net/")


def test_threads_video_error_is_content_failure(world):
    world.connect("threads")
    vid = world.media.add("v.mp4", b"\x00" * 5000, "video/mp4")
    orig = world.threads._object

    def failing(request, obj):
        with world.threads.lock:
            if obj in world.threads.containers:
                world.threads.containers[obj]["status"] = "ERROR"
        return orig(request, obj)
    world.threads.routes = [(m, rx, n, failing if n == "object" else fn) for m, rx, n, fn in world.threads.routes]
    out = pub("threads", {"text": "bad video", "videoUrl": vid})
    assert out.status == "failed" and "could not process" in out.error
    assert world.threads.posts == []


def test_facebook_text_link_photo_photos_video(world):
    world.connect("facebook")
    img = world.media.add("a.jpg", _jpeg(), "image/jpeg")
    img2 = world.media.add("b.jpg", _jpeg(), "image/jpeg")
    vid = world.media.add("v.mp4", b"\x00" * 5000, "video/mp4")
    assert pub("facebook", {"text": "words"}).status == "published"
    assert pub("FacebookFeed", {"text": "read this", "link": "https://variety.com/a"}).status == "published"
    assert pub("facebook", {"text": "one photo", "imageUrls": [img]}).status == "published"
    assert pub("facebook", {"text": "two photos", "imageUrls": [img, img2]}).status == "published"
    assert pub("facebook", {"text": "video", "videoUrl": vid}).status == "published"
    kinds = [p["kind"] for p in world.meta.posts]
    assert kinds == ["feed", "feed", "photo", "feed", "video"]
    assert world.meta.posts[1]["link"] == "https://variety.com/a"
    assert len(world.meta.posts[3]["attached"]) == 2


def test_instagram_image_and_reel_read_the_publishing_limit(world):
    world.connect("instagram")
    img = world.media.add("a.jpg", _jpeg(1080, 1350), "image/jpeg")
    vid = world.media.add("v.mp4", b"\x00" * 5000, "video/mp4")
    world.meta.video_polls_needed = 3
    assert pub("instagram", {"text": "poster", "imageUrl": img}).status == "published"
    out = pub("InstagramReels", {"text": "reel", "videoUrl": vid, "videoDurationSeconds": 30})
    assert out.status == "published", out
    assert [p["media_type"] for p in world.meta.posts] == ["IMAGE", "REELS"]
    assert sum(1 for n, _ in world.meta.calls if n == "limit") == 2
    reel = world.meta.containers[world.meta.posts[1]["container"]]
    assert reel["polls"] >= 3 and reel["params"]["video_url"] == vid


def test_instagram_limit_reached_waits_instead_of_posting(world):
    world.connect("instagram")
    world.meta.quota_used = world.meta.quota_total
    img = world.media.add("a.jpg", _jpeg(), "image/jpeg")
    out = pub("instagram", {"text": "poster", "imageUrl": img})
    assert out.status == "scheduled" and out.details["kind"] == "rate_limited"
    assert world.meta.posts == [] and not world.meta.containers


def test_instagram_rejects_wrong_aspect_before_calling(world):
    world.connect("instagram")
    img = world.media.add("wide.jpg", _jpeg(3000, 1000), "image/jpeg")
    out = pub("instagram", {"text": "too wide", "imageUrl": img})
    assert out.status == "failed" and "instagram.aspect_ratio" in out.error
    assert not any(n == "container" for n, _ in world.meta.calls)


def test_tiktok_file_upload_in_ordered_chunks(world, monkeypatch):
    from shared.publishing.adapters import tiktok as tk

    monkeypatch.setattr(tk, "CHUNK_BYTES", 5 * MB)
    world.connect("tiktok")
    data = b"\x01" * (12 * MB + 123)
    url = world.media.add("t.mp4", data, "video/mp4")
    out = pub("tiktok", {"text": "trailer!", "videoUrl": url, "videoDurationSeconds": 90})
    assert out.status == "published", out
    post = world.tiktok.posts[0]
    assert post["chunks"] == [5 * MB, 7 * MB + 123]  # remainder folded into the last chunk
    entry = world.tiktok.publishes[post["publish_id"]]
    assert entry["status"] == "PUBLISH_COMPLETE" and entry["polls"] >= 2
    assert out.url == f"https://www.tiktok.com/@screndly/video/{entry['post_id']}"


def test_tiktok_pull_from_url_and_failed_moderation(world, monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("TIKTOK_VERIFIED_MEDIA_DOMAIN", "https://media.test/")
    get_config.cache_clear()
    world.tiktok.verified_prefixes = ["https://media.test/"]
    world.connect("tiktok")
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    world.tiktok.fail_reason = "video_pull_failed"
    out = pub("tiktok", {"text": "pulled", "videoUrl": url})
    assert out.status == "failed" and "video_pull_failed" in out.error
    assert world.tiktok.posts[0]["source"] == "PULL_FROM_URL"


def test_tiktok_privacy_not_offered_is_refused(world, monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("TIKTOK_APP_AUDITED", "true")
    get_config.cache_clear()
    world.tiktok.audited = True
    world.connect("tiktok")
    world.tiktok.privacy_options = ["SELF_ONLY"]
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    out = pub("tiktok", {"text": "x", "videoUrl": url})
    assert out.status == "failed" and "SELF_ONLY" in out.error and "PUBLIC_TO_EVERYONE" in out.error
    assert world.tiktok.posts == []


def test_youtube_resumable_upload_resumes_from_server_range(world, monkeypatch):
    from shared.publishing.adapters import youtube as yt

    monkeypatch.setattr(yt, "CHUNK_BYTES", 256 * 1024)
    world.connect("youtube")
    data = bytes(range(256)) * 4096  # 1 MB
    url = world.media.add("t.mp4", data, "video/mp4")
    thumb = world.media.add("th.jpg", _jpeg(1280, 720), "image/jpeg")
    world.youtube.interrupt_after[1] = 100_000  # chunk #2 drops after 100 KB
    out = pub("YouTube", {"youtubeTitle": "Dune trailer", "youtubeDescription": "desc", "videoUrl": url,
                          "youtubeThumbnailUrl": thumb, "youtubePlaylistIds": ["PL1"], "text": "t"})
    assert out.status == "published", out
    s = next(iter(world.youtube.sessions.values()))
    assert s["interrupted"] == 1 and "bad_offsets" not in s  # every chunk started where the server said
    assert s["chunks"][2][0] == 256 * 1024 + 100_000  # resumed from the Range the server reported
    assert len(world.youtube.posts) == 1 and world.youtube.posts[0]["privacy"] == "private"
    assert world.youtube.thumbnails[out.platform_post_id] > 0
    assert world.youtube.playlist_items == [("PL1", out.platform_post_id)]
    assert out.url == f"https://www.youtube.com/watch?v={out.platform_post_id}"


def test_youtube_missing_playlist_is_a_warning_not_a_failure(world):
    world.connect("youtube")
    url = world.media.add("t.mp4", b"\x02" * 5000, "video/mp4")
    out = pub("youtube_shorts", {"youtubeTitle": "Short", "videoUrl": url, "youtubePlaylistIds": ["NOPE"],
                                 "videoWidth": 1080, "videoHeight": 1920, "videoDurationSeconds": 30})
    assert out.status == "published"
    assert any("NOPE" in w for w in out.details["warnings"])
    assert out.url.startswith("https://youtube.com/shorts/")


def test_pinterest_image_and_video_pins(world):
    world.connect("pinterest")
    img = world.media.add("a.jpg", _jpeg(1000, 1500), "image/jpeg")
    vid = world.media.add("v.mp4", b"\x03" * 5000, "video/mp4")
    out = pub("pinterest", {"title": "Poster", "text": "desc", "imageUrl": img, "link": "https://x.org/a",
                            "boardId": BOARD})
    assert out.status == "published", out
    out = pub("pinterest", {"title": "Clip", "text": "desc", "videoUrl": vid, "boardId": BOARD,
                            "sharedThumbnailUrl": img, "videoDurationSeconds": 20}, key="pin-video")
    assert out.status == "published", out
    assert [p["source"] for p in world.pinterest.posts] == ["image_url", "video_id"]
    assert world.pinterest.posts[0]["link"] == "https://x.org/a"


def test_pinterest_without_board_uses_the_first_board_then_names_the_rule(world, db):
    world.connect("pinterest")
    img = world.media.add("a.jpg", _jpeg(), "image/jpeg")
    out = pub("pinterest", {"title": "Poster", "imageUrl": img})  # RSS sends no board
    assert out.status == "published" and world.pinterest.posts[0]["board"] == BOARD
    meta = db.execute("SELECT metadata FROM platform_connections WHERE platform='pinterest'").fetchone()
    assert meta["metadata"]["defaultBoardId"] == BOARD
    world.pinterest.boards.clear()
    db.execute("UPDATE platform_connections SET metadata='{}'::jsonb WHERE platform='pinterest'")
    out = pub("pinterest", {"title": "Poster 2", "imageUrl": img}, key="pin-2")
    assert out.status == "failed" and "pinterest.board_required" in out.error


def test_not_connected_platform_fails_clearly(world):
    out = pub("threads", {"text": "hi"})
    assert out.status == "failed" and "not connected" in out.error
    assert out.details["kind"] == "not_connected"


def test_facebook_permission_error_is_content_and_bad_token_is_auth(world, db):
    world.connect("facebook")
    orig = world.meta._feed
    answers = iter([
        world.meta.json({"error": {"message": "(#200) The user hasn't authorized the application to perform this "
                                   "action", "code": 200}}, 403),
        world.meta.json({"error": {"message": "Error validating access token: Session has expired", "code": 190,
                                   "error_subcode": 463}}, 400),
    ])
    world.meta.routes = [(m, rx, n, (lambda r, page: next(answers)) if n == "feed" else fn)
                         for m, rx, n, fn in world.meta.routes]
    out = pub("facebook", {"text": "first"})
    assert out.status == "failed" and out.details["kind"] == "content" and "(#200)" in out.error
    out = pub("facebook", {"text": "second"})
    assert out.status == "failed" and out.details["kind"] == "auth"
    row = db.execute("SELECT status FROM platform_connections WHERE platform='facebook'").fetchone()
    assert row["status"] == "needs_reconnect"
    assert orig is not None and world.meta.posts == []


def test_youtube_quota_exceeded_waits_for_the_reset(world, db):
    world.connect("youtube")
    url = world.media.add("v.mp4", b"\x00" * 3000, "video/mp4")
    world.youtube.routes = [
        (m, rx, n, (lambda r: world.youtube._err(403, "quotaExceeded", "The request cannot be completed because "
                                                 "you have exceeded your quota.")) if n == "start" else fn)
        for m, rx, n, fn in world.youtube.routes]
    out = pub("youtube", {"youtubeTitle": "Q", "videoUrl": url})
    assert out.status == "scheduled" and out.details["kind"] == "rate_limited"
    assert world.youtube.posts == []


def test_pinterest_unknown_board_is_a_content_failure(world):
    world.connect("pinterest")
    img = world.media.add("a.jpg", _jpeg(), "image/jpeg")
    out = pub("pinterest", {"title": "Poster", "imageUrl": img, "boardId": "999999999"})
    assert out.status == "failed" and "Board not found" in out.error and out.details["kind"] == "content"


def test_unreachable_media_is_refused_before_any_platform_call(world):
    world.connect("instagram")
    out = pub("instagram", {"text": "gone", "imageUrl": "https://media.test/missing.jpg"})
    assert out.status == "failed" and "instagram.media_unreachable" in out.error
    assert not any(n == "container" for n, _ in world.meta.calls)


def test_pinterest_video_upload_streams_the_file(world, monkeypatch):
    from shared.publishing.media import source

    world.connect("pinterest")
    data = bytes(range(256)) * 12_000  # ~3 MB
    vid = world.media.add("big.mp4", data, "video/mp4")
    reads = []
    real = source.StreamFile.read

    def spy(self, n=-1):
        out = real(self, n)
        reads.append(len(out))
        return out
    monkeypatch.setattr(source.StreamFile, "read", spy)
    out = pub("pinterest", {"title": "Big clip", "videoUrl": vid, "boardId": BOARD}, key="pin-big")
    assert out.status == "published", out
    media = next(iter(world.pinterest.media.values()))
    assert media["bytes"] == len(data)
    assert max(reads) <= 64 * 1024  # read piecewise by the multipart encoder, never all at once
