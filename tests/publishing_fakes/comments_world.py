"""The platform fakes with their comment endpoints, an OpenAI fake that answers like a model would (one different
reply per comment, with the hashtags and promotion a model sometimes adds), and helpers: connect accounts with
the comment scopes granted, publish one post per platform through the real gateway. Every request is held to the
platforms' descriptions by the fakes themselves; the `world` fixture fails a test that sent one they refuse."""

from __future__ import annotations

import json
import re

import pytest
from rss_fakes import FakeOpenAI

from publishing_fakes import comments_meta, comments_threads, comments_x, comments_youtube

PLATFORMS = ("x", "threads", "facebook", "instagram", "youtube")
PUBLISH_SCOPES = {
    "x": ["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"],
    "youtube": ["https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube"],
    "facebook": ["pages_show_list", "pages_manage_posts", "pages_read_engagement"],
    "instagram": ["instagram_basic", "instagram_content_publish", "pages_show_list", "pages_read_engagement"],
    "threads": ["threads_basic", "threads_content_publish"],
}


class ReplyingOpenAI(FakeOpenAI):
    """Chat completions that answer the comment in the prompt, adding what the clean-up must remove."""

    def answer(self, body: dict) -> str:
        user = body["messages"][-1]["content"]
        m = re.search(r"Comment by [^:]*:\n(.*)\n\nWrite only", user, re.S)
        said = (m.group(1).strip() if m else "this")[:40]
        return f"\"Love that you said '{said}' 🎬🍿🔥 #Trailer Follow us for more!\""


@pytest.fixture(scope="session")
def openai_replies():
    from shared.local.services import ServerThread

    fake = ReplyingOpenAI(key="sk-comments")
    server = ServerThread(fake.app).start()
    yield fake, server.url
    server.stop()


@pytest.fixture
def comment_world(world, openai_replies, monkeypatch):
    """The world of fakes with comment endpoints and an OpenAI that writes replies."""
    from shared.config import get_config

    comments_x.install(world.x)
    comments_meta.install(world.meta)
    comments_threads.install(world.threads)
    comments_youtube.install(world.youtube)
    world.openai = openai_replies[0]
    monkeypatch.setenv("OPENAI_BASE_URL", openai_replies[1] + "/v1")
    get_config.cache_clear()
    yield world
    get_config.cache_clear()


def connect_for_comments(world, *families: str, scopes: dict[str, list[str]] | None = None) -> None:
    """Connect accounts as an owner with comment replies on would: publishing scopes plus the comment ones,
    recorded on the connection and granted to the token on the platform's side."""
    from shared.comments.readiness import REQUIRED_SCOPES
    from shared.db import connection
    from shared.publishing.connections import store

    world.connect(*families)
    for fam in families:
        granted = (scopes or {}).get(fam)
        if granted is None:
            granted = sorted(set(PUBLISH_SCOPES[fam]) | set(REQUIRED_SCOPES[fam]))
        with connection() as c:
            c.execute("UPDATE platform_connections SET scopes=%s WHERE platform=%s", (granted, fam))
        fake = world.by_family[fam]
        with fake.lock:
            fake.grants[store.get(fam).access_token] = frozenset(granted)


def jpeg(w: int = 1080, h: int = 1080) -> bytes:
    sof = b"\xff\xc0\x00\x11\x08" + h.to_bytes(2, "big") + w.to_bytes(2, "big") + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + b"\x00" * 2000


def publish_posts(world, families=PLATFORMS, tag: str = "") -> dict[str, str]:
    """One real post per platform through the gateway (the engine records it as published): family -> post id."""
    from shared.publishing.gateway import PublishRequest, publish

    img = world.media.add(f"c{tag}.jpg", jpeg(), "image/jpeg")
    vid = world.media.add(f"c{tag}.mp4", b"\x00" * 5000, "video/mp4")
    contents = {
        "x": ("x", {"text": f"Dune: Part Three trailer is here {tag}"}),
        "threads": ("threads", {"text": f"Dune: Part Three trailer, in cinemas December 18 {tag}"}),
        "facebook": ("facebook", {"text": f"The Dune: Part Three trailer is out {tag}"}),
        "instagram": ("instagram", {"text": f"Dune: Part Three {tag}", "imageUrl": img}),
        "youtube": ("youtube", {"youtubeTitle": f"Dune: Part Three trailer {tag}", "videoUrl": vid,
                                "text": "Official trailer. In cinemas December 18."}),
    }
    out = {}
    for fam in families:
        target, content = contents[fam]
        res = publish(PublishRequest(idempotency_key=f"post:{fam}:{tag}", platform=target, content=content,
                                     source="compose"))
        assert res.status == "published", (fam, res)
        out[fam] = res.platform_post_id
    return out


def save_settings(**values) -> None:
    """Write settings the way PUT /api/settings does (its hooks run: the comment switch follows)."""
    from shared.settings.service import update_settings

    update_settings(values)


def comment_settings(**overrides) -> dict:
    """Settings for an owner who switched comment replies on for every supported platform."""
    values = {"commentRepliesActive": True, "openaiKey": "sk-comments", "commentReplyFrequency": "instant",
              "commentThrottle": "high", "publishMode": "live",
              "platformSettings": {"x": {"tier": "basic"}},
              **{f"{p}CommentBlacklist": {"active": True, "usernames": "", "keywords": "", "noEmojiOnly": True,
                                          "noLinks": True, "pauseOldPosts": True, "pauseAfterHours": "24"}
                 for p in PLATFORMS}}
    values.update(overrides)
    return values


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)
