"""Pure parts: platform names, validation rules, X weighted length, error classification, chunk plans."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.publishing.adapters.tiktok import MAX_CHUNK, MIN_CHUNK, chunk_plan
from shared.publishing.engine.errors import (
    AuthFailed,
    BadContent,
    OutcomeUnknown,
    RateLimitedError,
    TransientBeforeSend,
    classify_exception,
    classify_http,
    rate_limit_reset,
)
from shared.publishing.media.imagesize import image_size
from shared.publishing.platforms import UnknownPlatform, family_of, normalize_target
from shared.publishing.validation import MediaFacts, PostDraft, validate
from shared.publishing.validation.text import x_weighted_length

MB = 1024 * 1024


@pytest.mark.parametrize("name,target,family", [
    ("X", "x", "x"), ("x", "x", "x"), ("Twitter", "x", "x"), ("Threads", "threads", "threads"),
    ("FacebookFeed", "facebook_feed", "facebook"), ("FacebookStories", "facebook_stories", "facebook"),
    ("InstagramReels", "instagram_reels", "instagram"), ("instagram_reels", "instagram_reels", "instagram"),
    ("instagram-reels", "instagram_reels", "instagram"), ("InstagramFeed", "instagram_feed", "instagram"),
    ("YouTubeShorts", "youtube_shorts", "youtube"), ("YouTubeLongform", "youtube_longform", "youtube"),
    ("youtube", "youtube", "youtube"), ("TikTok", "tiktok", "tiktok"), ("tiktok", "tiktok", "tiktok"),
    ("Pinterest", "pinterest", "pinterest"), (" Facebook ", "facebook", "facebook"),
])
def test_platform_names_normalise(name, target, family):
    assert normalize_target(name) == target and family_of(name) == family


@pytest.mark.parametrize("bad", ["", "Myspace", "x_feed", None])
def test_unknown_platform_names_raise(bad):
    with pytest.raises(UnknownPlatform):
        normalize_target(bad)


@pytest.mark.parametrize("text,expected", [
    ("hello", 5),
    ("a" * 280, 280),
    ("see https://variety.com/2026/film/news/a-very-long-article-slug-that-goes-on-and-on/", 4 + 23),
    ("variety.com/x", 23),
    ("😀", 2),
    ("👨‍👩‍👧‍👦", 2),  # one ZWJ family is one emoji
    ("👍🏽", 2),  # with a skin tone
    ("🇳🇬", 2),  # a flag
    ("日本語", 6),
    ("café", 4),
    ("cafe\u0301", 4),  # NFC folds the combining accent
])
def test_x_weighted_length_table(text, expected):
    assert x_weighted_length(text) == expected


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=400))
def test_ascii_without_urls_weighs_its_length(s):
    if "." in s or "http" in s.lower():
        return
    assert x_weighted_length(s) == len(s)


@given(st.text(max_size=60), st.text(alphabet="abcdefghij/-", min_size=1, max_size=200))
def test_any_url_weighs_23(prefix, path):
    prefix = prefix.replace(".", " ").replace("http", "h")
    base = x_weighted_length(prefix + " ")
    assert x_weighted_length(f"{prefix} https://example.com/{path}") == base + 23


@given(st.text(max_size=300))
def test_weight_is_between_length_and_twice_length(s):
    import unicodedata

    n = len(unicodedata.normalize("NFC", s))
    w = x_weighted_length(s)
    assert w <= 2 * n + 23 * n  # urls may weigh more than their text
    if "." not in s and "http" not in s.lower():
        assert w <= 2 * n


def _video(**kw):
    return MediaFacts(kind="video", url="https://m/v.mp4", **kw)


def _image(**kw):
    return MediaFacts(kind="image", url="https://m/i.jpg", **kw)


@pytest.mark.parametrize("draft,rule", [
    (PostDraft("x", text="a" * 281), "x.text_length"),
    (PostDraft("x", text="hi", images=tuple(_image() for _ in range(5))), "x.image_count"),
    (PostDraft("x", text="hi", video=_video(duration_s=150.0)), "x.video_duration"),
    (PostDraft("x", text="hi", video=_video(size_bytes=600 * MB)), "x.video_size"),
    (PostDraft("x", text="hi", video=_video(width=400, height=1300)), "x.aspect_ratio"),
    (PostDraft("x", text="hi", images=(_image(),), video=_video()), "x.media_mix"),
    (PostDraft("x"), "x.empty"),
    (PostDraft("threads", text="é" * 501), "threads.text_length"),
    (PostDraft("threads", text="😀" * 126), "threads.text_length"),  # 504: emoji weigh their UTF-8 bytes
    (PostDraft("instagram", text="x"), "instagram.media_required"),
    (PostDraft("instagram", images=(_image(mime="image/png"),)), "instagram.image_type"),
    (PostDraft("instagram", images=(_image(width=1000, height=2000),)), "instagram.aspect_ratio"),
    (PostDraft("instagram_reels", video=_video(duration_s=2.0)), "instagram_reels.video_duration"),
    (PostDraft("instagram_reels", images=(_image(),)), "instagram_reels.video_required"),
    (PostDraft("tiktok", text="t"), "tiktok.video_required"),
    (PostDraft("tiktok", video=_video(duration_s=601.0)), "tiktok.video_duration"),
    (PostDraft("tiktok", video=_video(size_bytes=5 * 1024 * MB)), "tiktok.video_size"),
    (PostDraft("youtube", video=_video()), "youtube.title_required"),
    (PostDraft("youtube", title="t" * 101, video=_video()), "youtube.title_length"),
    (PostDraft("youtube", title="a <b>", video=_video()), "youtube.title_characters"),
    (PostDraft("youtube_shorts", title="s", video=_video(width=1920, height=1080)), "youtube_shorts.aspect_ratio"),
    (PostDraft("youtube_shorts", title="s", video=_video(duration_s=200.0)), "youtube_shorts.video_duration"),
    (PostDraft("pinterest", title="p", images=(_image(),)), "pinterest.board_required"),
    (PostDraft("youtube_longform", title="t", text="d", video=_video()), "youtube_longform.playlist_required"),
    (PostDraft("youtube_longform", title="t", video=_video(), playlist_count=1),
     "youtube_longform.description_required"),
    (PostDraft("pinterest", title="p", board_id="b"), "pinterest.media_required"),
    (PostDraft("facebook", video=_video(mime="video/x-flv")), "facebook.video_type"),
])
def test_rules_name_what_is_broken(draft, rule):
    assert rule in {v.rule for v in validate(draft)}


@pytest.mark.parametrize("draft", [
    PostDraft("x", text="a" * 280),
    PostDraft("x", text="hi", video=_video(duration_s=140.0, mime="video/mp4", width=1280, height=720)),
    PostDraft("x", text="pro tier", video=_video(duration_s=500.0), x_tier="pro"),
    PostDraft("threads", text="é" * 500),
    PostDraft("threads", text="😀" * 125),
    PostDraft("facebook", text="", link="https://variety.com/a"),
    PostDraft("instagram", images=(_image(mime="image/jpeg", width=1080, height=1350),)),
    PostDraft("instagram_reels", video=_video(duration_s=30.0, width=1080, height=1920)),
    PostDraft("tiktok", video=_video(duration_s=90.0)),
    PostDraft("youtube_shorts", title="s", video=_video(width=1080, height=1920, duration_s=59.0)),
    PostDraft("youtube_longform", title="t", text="d", video=_video(), playlist_count=1),
    PostDraft("pinterest", title="p", board_id="b", images=(_image(mime="image/png"),)),
])
def test_valid_drafts_pass(draft):
    assert validate(draft) == []


@given(st.integers(min_value=1, max_value=20 * 1024 * MB))
@settings(max_examples=300)
def test_tiktok_chunk_plan_obeys_the_media_transfer_rules(size):
    chunk, count = chunk_plan(size)
    last = size - chunk * (count - 1)
    assert 1 <= count <= 1000
    if size < MIN_CHUNK:
        assert (chunk, count) == (size, 1)
    else:
        assert chunk <= size
        if count == 1:
            assert chunk == size
        else:
            assert MIN_CHUNK <= chunk <= MAX_CHUNK or count == 1000
            assert chunk <= last < 2 * chunk  # the remainder folds into the last chunk


def test_classification_table():
    now = 1_800_000_000.0
    assert isinstance(classify_http(401, {}, {}, "prepare"), AuthFailed)
    assert isinstance(classify_http(400, {}, {"error": {"code": 190, "message": "bad token"}}, "commit"), AuthFailed)
    assert isinstance(classify_http(400, {}, {"detail": "nope"}, "commit"), BadContent)
    assert isinstance(classify_http(503, {}, {}, "prepare"), TransientBeforeSend)
    assert isinstance(classify_http(503, {}, {}, "commit"), OutcomeUnknown)
    rl = classify_http(429, {"x-rate-limit-reset": str(now + 900)}, {}, "commit", now=now)
    assert isinstance(rl, RateLimitedError) and rl.reset_at == now + 900
    meta = classify_http(400, {"x-business-use-case-usage": '{"1":[{"estimated_time_to_regain_access":7}]}'},
                         {"error": {"code": 80004, "message": "too many"}}, "commit", now=now)
    assert isinstance(meta, RateLimitedError) and meta.reset_at == now + 420
    yt = classify_http(403, {}, {"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}},
                       "prepare", now=now)
    assert isinstance(yt, RateLimitedError)
    tt = classify_http(200, {}, {"error": {"code": "spam_risk_too_many_posts", "message": "x"}}, "commit")
    assert isinstance(tt, RateLimitedError)
    assert classify_http(200, {}, {"error": {"code": "ok"}}, "commit") is None
    assert rate_limit_reset({"Retry-After": "30"}, now=now) == now + 30
    assert rate_limit_reset({}, now=now) == now + 15 * 60


def test_exception_classification():
    import httpx

    req = httpx.Request("POST", "https://x.test")
    assert isinstance(classify_exception(httpx.ConnectError("x", request=req), "commit"), TransientBeforeSend)
    assert isinstance(classify_exception(httpx.ReadTimeout("x", request=req), "commit"), OutcomeUnknown)
    assert isinstance(classify_exception(httpx.ReadTimeout("x", request=req), "prepare"), TransientBeforeSend)


def test_image_size_headers():
    import struct

    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 640, 480) + b"\x00" * 10
    gif = b"GIF89a" + struct.pack("<HH", 320, 200)
    jpg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08" + struct.pack(">HH", 1080, 1920) + b"\x00" * 10
    assert image_size(png) == (640, 480) and image_size(gif) == (320, 200) and image_size(jpg) == (1920, 1080)
    assert image_size(b"not an image") is None


@given(st.integers(min_value=100, max_value=599), st.sampled_from(["prepare", "commit", "confirm"]),
       st.dictionaries(st.sampled_from(["message", "detail", "title"]), st.text(max_size=20), max_size=2))
def test_a_commit_answer_is_never_classified_as_safe_to_retry(status, phase, body):
    err = classify_http(status, {}, body, phase)
    if 200 <= status < 300 or status == 308:
        assert err is None
    elif phase == "commit":
        # only a definite refusal or an unknown outcome: never "transient" (which would post again)
        assert not isinstance(err, TransientBeforeSend)
        if status >= 500:
            assert isinstance(err, OutcomeUnknown)
    elif status >= 500:
        assert isinstance(err, TransientBeforeSend)


@given(st.floats(min_value=0, max_value=10**6, allow_nan=False))
def test_rate_limit_reset_is_never_in_the_past(seconds):
    now = 1_800_000_000.0
    assert rate_limit_reset({"retry-after": str(seconds)}, now=now) >= now
    assert rate_limit_reset({"x-rate-limit-reset": str(now + seconds)}, now=now) >= now
