"""TikTok as its docs describe it: creator_info before each post decides privacy, length and interactions; an
unaudited app posts SELF_ONLY and says why; FILE_UPLOAD streamed by default, PULL_FROM_URL only from a verified
domain; the connect asks only for fields its scopes cover."""

from __future__ import annotations

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)

from shared.publishing.gateway import PublishRequest, publish

MB = 1024 * 1024
REDIRECT = "http://localhost:5173/platforms/callback"


@pytest.fixture
def env(monkeypatch):
    from shared.config import get_config

    def set_env(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, v)
        get_config.cache_clear()
    yield set_env
    monkeypatch.undo()
    get_config.cache_clear()


def pub(content: dict, key: str):
    return publish(PublishRequest(key, "tiktok", content, "media"))


def _inits(world):
    return [n for n, _ in world.tiktok.calls if n == "init"]


def test_unaudited_app_posts_self_only_and_says_why(world):
    world.connect("tiktok")
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    out = pub({"text": "trailer", "videoUrl": url, "tiktokPrivacy": "PUBLIC_TO_EVERYONE"}, "tt-unaudited")
    assert out.status == "published", out
    entry = world.tiktok.publishes[world.tiktok.posts[0]["publish_id"]]
    assert entry["post_info"]["privacy_level"] == "SELF_ONLY"
    assert any("has not audited this app" in w and "SELF_ONLY" in w for w in out.details["warnings"])


def test_audited_app_uses_the_chosen_privacy_from_the_creators_options(world, env):
    env(TIKTOK_APP_AUDITED="true")
    world.tiktok.audited = True
    world.connect("tiktok")
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    out = pub({"text": "public trailer", "videoUrl": url}, "tt-audited")
    assert out.status == "published", out
    entry = world.tiktok.publishes[world.tiktok.posts[0]["publish_id"]]
    assert entry["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE" and "warnings" not in out.details


def test_a_video_longer_than_the_creators_cap_is_refused_before_upload(world):
    world.connect("tiktok")
    world.tiktok.max_duration = 60
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    out = pub({"text": "too long", "videoUrl": url, "videoDurationSeconds": 95}, "tt-long")
    assert out.status == "failed" and out.details["kind"] == "content"
    assert "95 s" in out.error and "at most 60 s" in out.error
    assert _inits(world) == [] and world.tiktok.posts == []  # nothing was uploaded


def test_comments_turned_off_by_the_creator_are_kept_off(world):
    world.connect("tiktok")
    world.tiktok.comment_disabled = True
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    assert pub({"text": "quiet", "videoUrl": url}, "tt-quiet").status == "published"
    entry = world.tiktok.publishes[world.tiktok.posts[0]["publish_id"]]
    assert entry["post_info"]["disable_comment"] is True


def test_file_upload_is_the_default_even_with_the_old_pull_preference(world, db):
    from psycopg.types.json import Jsonb

    db.execute("INSERT INTO settings (key, value) VALUES ('platformSettings', %s)",
               (Jsonb({"tiktok": {"pullFromUrl": True}}),))
    world.connect("tiktok")
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    assert pub({"text": "uploaded", "videoUrl": url}, "tt-file").status == "published"
    assert world.tiktok.posts[0]["source"] == "FILE_UPLOAD"


def test_pull_from_url_only_under_the_verified_domain(world, env):
    env(TIKTOK_VERIFIED_MEDIA_DOMAIN="https://cdn.example.com/")
    world.tiktok.verified_prefixes = ["https://cdn.example.com/"]
    world.connect("tiktok")
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")  # https://media.test/...: not verified
    assert pub({"text": "not verified", "videoUrl": url}, "tt-unverified").status == "published"
    assert world.tiktok.posts[0]["source"] == "FILE_UPLOAD"
    env(TIKTOK_VERIFIED_MEDIA_DOMAIN="media.test")
    world.tiktok.verified_prefixes.append("https://media.test/")
    assert pub({"text": "verified", "videoUrl": url}, "tt-verified").status == "published"
    assert world.tiktok.posts[1]["source"] == "PULL_FROM_URL"


def test_chunks_are_streamed_from_b2_never_held_whole(world, monkeypatch):
    from shared.publishing.adapters import tiktok as tk
    from shared.publishing.media import source
    from shared.storage.s3 import get_storage

    monkeypatch.setattr(tk, "CHUNK_BYTES", 5 * MB)
    world.connect("tiktok")
    data = bytes(range(256)) * (12 * 4096 + 3)  # ~12 MB: chunks of 5 MB and 7 MB
    get_storage().put_bytes("publish/test/big.mp4", data, "video/mp4")  # B2 (moto's S3 server)
    url = "b2://publish/test/big.mp4"
    pieces = []
    real = source.MediaSource.chunks

    def spy(self, chunk_size, start=0):
        for piece in real(self, chunk_size, start):
            pieces.append(len(piece))
            yield piece
    monkeypatch.setattr(source.MediaSource, "chunks", spy)
    out = pub({"text": "big", "videoUrl": url}, "tt-stream")
    assert out.status == "published", out
    assert world.tiktok.posts[0]["chunks"] == [5 * MB, len(data) - 5 * MB]
    assert max(pieces) <= tk.PIECE  # what sat in memory at once: one read piece, not a chunk or the file


def _connect_tiktok(world, client, auth, scopes=None):
    url = client.get("/api/platforms/auth/TikTok", params={"redirectUri": REDIRECT}, headers=auth).json()["data"]["url"]
    code, state = world.tiktok.consent(url)
    if scopes is not None:  # the owner unticked some scopes on TikTok's consent page
        world.tiktok.codes[code]["scopes"] = scopes
    return client.post("/api/platforms/callback", headers=auth,
                       json={"platform": "TikTok", "code": code, "state": state, "redirectUri": REDIRECT})


def test_connect_asks_for_profile_fields_only_with_the_profile_scope(world, client, auth):
    r = _connect_tiktok(world, client, auth)
    assert r.status_code == 200, r.text
    status = client.get("/api/platforms/status", headers=auth).json()["data"]["TikTok"]
    assert status["username"] == "screndly" and status["profileUrl"] == "https://vm.tiktok.com/screndly"
    r = _connect_tiktok(world, client, auth, scopes=["user.info.basic", "video.publish"])
    assert r.status_code == 200, r.text  # no scope_not_authorized: username/profile_deep_link not asked
    status = client.get("/api/platforms/status", headers=auth).json()["data"]["TikTok"]
    assert status["connected"] is True and status["username"] == "Screndly"  # the display name then


def test_without_a_duration_hint_the_mp4_header_tells_the_length(world, tmp_path):
    import subprocess

    import imageio_ffmpeg

    out_file = tmp_path / "three.mp4"  # moov after mdat (no faststart): the box walk has to find it
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "color=c=black:s=64x64:d=3:r=10", "-c:v", "mpeg4", str(out_file)], check=True)
    world.connect("tiktok")
    world.tiktok.max_duration = 2
    url = world.media.add("three.mp4", out_file.read_bytes(), "video/mp4")
    out = pub({"text": "no hint", "videoUrl": url}, "tt-header")
    assert out.status == "failed" and "3 s" in out.error and "at most 2 s" in out.error
    assert _inits(world) == []
    from shared.publishing.media import mp4
    from shared.publishing.media.source import MediaSource

    assert abs(mp4.duration_seconds(MediaSource(url)) - 3.0) < 0.2
