"""The rules each target enforces before any platform call (pure). Numbers: frontend-contract §5, field-notes §7.

A fact that is unknown (None) is not judged: the platform will judge it, and its answer is classified as bad
content. Every violation names its rule (`<target>.<rule>`) so the owner can see exactly what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.publishing.validation.model import MediaFacts, PostDraft, Violation
from shared.publishing.validation.text import (
    X_MAX_WEIGHT,
    char_length,
    threads_length,
    utf16_length,
    x_weighted_length,
)

MB = 1024 * 1024
GB = 1024 * MB

IMAGE_MIMES = ("image/jpeg", "image/png", "image/gif", "image/webp")
VIDEO_MIMES = ("video/mp4", "video/quicktime")


@dataclass(frozen=True)
class Spec:
    text_max: int | None = None
    text_counter: str = "chars"  # chars | x_weighted | utf8_bytes | utf16
    text_required: bool = False
    max_images: int = 0
    video_allowed: bool = False
    media_required: bool = False  # at least one image or a video
    video_required: bool = False
    image_mimes: tuple[str, ...] = IMAGE_MIMES
    video_mimes: tuple[str, ...] = VIDEO_MIMES
    image_max_bytes: int | None = None
    video_max_bytes: int | None = None
    video_min_s: float | None = None
    video_max_s: float | None = None
    aspect_min: float | None = None  # width / height
    aspect_max: float | None = None
    image_aspect_min: float | None = None
    image_aspect_max: float | None = None
    title_max: int | None = None
    title_required: bool = False
    description_max_bytes: int | None = None
    board_required: bool = False
    vertical_video: bool = False
    playlist_required: bool = False
    # a feed carousel: 2..carousel_max items, images and/or videos (Instagram); 0 = no carousel
    carousel_max: int = 0
    carousel_video_min_s: float | None = None
    carousel_video_max_s: float | None = None


SPECS: dict[str, Spec] = {
    "x": Spec(text_max=X_MAX_WEIGHT, text_counter="x_weighted", max_images=4, video_allowed=True,
              image_max_bytes=5 * MB, video_max_bytes=512 * MB, video_min_s=0.5, video_max_s=140,
              aspect_min=1 / 3, aspect_max=3.0),
    "threads": Spec(text_max=500, text_counter="threads", max_images=20, video_allowed=True,
                    image_max_bytes=8 * MB, video_max_bytes=1 * GB, video_max_s=300,
                    image_mimes=("image/jpeg", "image/png")),
    # videos go through the Resumable Upload API, whose file_type is video/mp4 only
    # (https://developers.facebook.com/docs/graph-api/guides/upload); 2-10 photos make a multi-photo post
    "facebook": Spec(text_max=63206, max_images=10, video_allowed=True, image_max_bytes=10 * MB,
                     video_max_bytes=10 * GB, video_max_s=240 * 60, video_mimes=("video/mp4",)),
    "facebook_feed": Spec(text_max=63206, max_images=10, video_allowed=True, image_max_bytes=10 * MB,
                          video_max_bytes=10 * GB, video_max_s=240 * 60, video_mimes=("video/mp4",)),
    "facebook_stories": Spec(max_images=1, media_required=True, image_max_bytes=10 * MB),
    # one image, or a carousel of 2-10 images and/or videos
    # (https://developers.facebook.com/docs/instagram-platform/content-publishing/#carousel-posts ; item videos
    # follow the Reels video specs of .../reference/ig-user/media#reels-specifications)
    "instagram": Spec(text_max=2200, max_images=10, media_required=True, image_mimes=("image/jpeg",),
                      image_max_bytes=8 * MB, image_aspect_min=4 / 5, image_aspect_max=1.91, carousel_max=10,
                      video_max_bytes=1 * GB, carousel_video_min_s=3, carousel_video_max_s=15 * 60),
    "instagram_feed": Spec(text_max=2200, max_images=10, media_required=True, image_mimes=("image/jpeg",),
                           image_max_bytes=8 * MB, image_aspect_min=4 / 5, image_aspect_max=1.91, carousel_max=10,
                           video_max_bytes=1 * GB, carousel_video_min_s=3, carousel_video_max_s=15 * 60),
    "instagram_reels": Spec(text_max=2200, video_allowed=True, video_required=True, video_max_bytes=1 * GB,
                            video_min_s=3, video_max_s=15 * 60, aspect_min=0.01, aspect_max=10.0),
    "instagram_stories": Spec(max_images=1, video_allowed=True, media_required=True, image_mimes=("image/jpeg",),
                              image_max_bytes=8 * MB, video_max_bytes=100 * MB, video_min_s=3, video_max_s=60),
    "tiktok": Spec(text_max=2200, text_counter="utf16", video_allowed=True, video_required=True,
                   video_max_bytes=4 * GB, video_min_s=3, video_max_s=600,
                   video_mimes=("video/mp4", "video/quicktime", "video/webm")),
    "youtube": Spec(video_allowed=True, video_required=True, video_max_bytes=256 * GB, video_max_s=12 * 3600,
                    title_max=100, title_required=True, description_max_bytes=5000,
                    video_mimes=("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo")),
    # long-form needs title, description and playlist (frontend-contract §5)
    "youtube_longform": Spec(video_allowed=True, video_required=True, video_max_bytes=256 * GB,
                             video_max_s=12 * 3600, title_max=100, title_required=True, text_required=True,
                             playlist_required=True, description_max_bytes=5000,
                             video_mimes=("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo")),
    "youtube_shorts": Spec(video_allowed=True, video_required=True, video_max_bytes=256 * GB, video_max_s=180,
                           title_max=100, title_required=True, description_max_bytes=5000, vertical_video=True),
    "pinterest": Spec(text_max=800, max_images=1, video_allowed=True, media_required=True, title_max=100,
                      image_max_bytes=20 * MB, video_max_bytes=2 * GB, video_min_s=4, video_max_s=15 * 60,
                      board_required=True, image_mimes=("image/jpeg", "image/png", "image/webp")),
    # comment replies (shared/comments): text only, within each platform's comment length
    "x_comment_reply": Spec(text_max=X_MAX_WEIGHT, text_counter="x_weighted"),
    "threads_comment_reply": Spec(text_max=500, text_counter="threads"),
    "facebook_comment_reply": Spec(text_max=8000),
    "instagram_comment_reply": Spec(text_max=2200),
    "youtube_comment_reply": Spec(text_max=10_000),
}

X_VIDEO_MAX_S_BY_TIER = {"free": 140, "basic": 140, "pro": 600, "enterprise": 600}


def _text_len(spec: Spec, text: str) -> int:
    if spec.text_counter == "x_weighted":
        return x_weighted_length(text)
    if spec.text_counter == "threads":
        return threads_length(text)
    if spec.text_counter == "utf16":
        return utf16_length(text)
    return char_length(text)


def _fmt_mb(n: int) -> str:
    return f"{n / MB:.0f} MB" if n < GB else f"{n / GB:.0f} GB"


def _check_media(t: str, spec: Spec, m: MediaFacts, v: list[Violation], video_max_s: float | None) -> None:
    is_video = m.kind == "video"
    mimes = spec.video_mimes if is_video else spec.image_mimes
    label = "video" if is_video else "image"
    if m.mime and m.mime.split(";")[0].strip().lower() not in mimes:
        v.append(Violation(f"{t}.{label}_type", f"{t} does not accept {label} type {m.mime}; allowed: "
                           + ", ".join(mimes), {"url": m.url}))
    max_bytes = spec.video_max_bytes if is_video else spec.image_max_bytes
    if max_bytes and m.size_bytes is not None and m.size_bytes > max_bytes:
        v.append(Violation(f"{t}.{label}_size", f"{label} is {m.size_bytes / MB:.1f} MB; {t} allows at most "
                           f"{_fmt_mb(max_bytes)}", {"url": m.url, "sizeBytes": m.size_bytes}))
    if is_video and m.duration_s is not None:
        if spec.video_min_s is not None and m.duration_s < spec.video_min_s:
            v.append(Violation(f"{t}.video_duration", f"video is {m.duration_s:.1f} s; {t} needs at least "
                               f"{spec.video_min_s:g} s", {"durationSeconds": m.duration_s}))
        if video_max_s is not None and m.duration_s > video_max_s:
            v.append(Violation(f"{t}.video_duration", f"video is {m.duration_s:.1f} s; {t} allows at most "
                               f"{video_max_s:g} s", {"durationSeconds": m.duration_s}))
    aspect = m.aspect
    if aspect is not None:
        lo, hi = (spec.aspect_min, spec.aspect_max) if is_video else (spec.image_aspect_min, spec.image_aspect_max)
        if (lo is not None and aspect < lo - 1e-3) or (hi is not None and aspect > hi + 1e-3):
            v.append(Violation(f"{t}.aspect_ratio", f"{label} aspect ratio {m.width}x{m.height} is outside what "
                               f"{t} accepts ({lo:.2f} to {hi:.2f} width/height)",
                               {"width": m.width, "height": m.height}))
        if is_video and spec.vertical_video and aspect > 1 + 1e-3:
            v.append(Violation(f"{t}.aspect_ratio", f"a Short must be vertical or square; video is "
                               f"{m.width}x{m.height}", {"width": m.width, "height": m.height}))


def validate(d: PostDraft) -> list[Violation]:
    t = d.target
    spec = SPECS.get(t)
    if spec is None:
        return [Violation(f"{t}.unsupported", f"publishing to {t} is not supported")]
    v: list[Violation] = []
    text = d.text or ""
    if spec.text_max is not None:
        n = _text_len(spec, text)
        if n > spec.text_max:
            unit = {"x_weighted": "weighted characters (URLs count 23, emoji 2)",
                    "threads": "characters (emoji count as their UTF-8 bytes)",
                    "utf16": "characters"}.get(spec.text_counter, "characters")
            v.append(Violation(f"{t}.text_length", f"text is {n} {unit}; {t} allows {spec.text_max}",
                               {"length": n, "max": spec.text_max}))
    elif text and t.startswith("youtube"):
        pass  # YouTube uses `text` as the description fallback; checked below
    n_images = len(d.images)
    videos = ((d.video,) if d.video is not None else ()) + tuple(d.extra_videos)
    carousel = spec.carousel_max > 0 and n_images + len(videos) >= 2
    if carousel:
        return v + _carousel(t, spec, d, videos)
    if d.extra_videos:
        v.append(Violation(f"{t}.video_count", f"{t} posts one video; several go into an Instagram carousel"))
    if n_images > spec.max_images:
        if spec.max_images == 0:
            v.append(Violation(f"{t}.image_count", f"{t} does not accept images here"))
        else:
            v.append(Violation(f"{t}.image_count", f"{n_images} images; {t} allows at most {spec.max_images}",
                               {"count": n_images, "max": spec.max_images}))
    if d.video is not None and not spec.video_allowed:
        v.append(Violation(f"{t}.media_type", f"{t} does not accept video here"))
    if d.video is not None and n_images:
        v.append(Violation(f"{t}.media_mix", f"{t} posts either images or one video, not both"))
    if spec.video_required and d.video is None:
        v.append(Violation(f"{t}.video_required", f"{t} needs a video (videoUrl)"))
    if spec.media_required and d.video is None and not n_images:
        v.append(Violation(f"{t}.media_required", f"{t} needs an image or a video"))
    if not text.strip() and d.video is None and not n_images and not (d.link or "").strip() \
            and not spec.video_required and not spec.media_required:
        v.append(Violation(f"{t}.empty", "nothing to post: text, link or media is required"))
    video_max_s = spec.video_max_s
    if t == "x":
        video_max_s = X_VIDEO_MAX_S_BY_TIER.get(d.x_tier, 140)
    for m in d.images:
        _check_media(t, spec, m, v, video_max_s)
    if d.video is not None and spec.video_allowed:
        _check_media(t, spec, d.video, v, video_max_s)
    if spec.title_required and not (d.title or "").strip():
        v.append(Violation(f"{t}.title_required", f"{t} needs a title"))
    if spec.title_max and d.title and len(d.title) > spec.title_max:
        v.append(Violation(f"{t}.title_length", f"title is {len(d.title)} characters; {t} allows "
                           f"{spec.title_max}", {"length": len(d.title), "max": spec.title_max}))
    if t.startswith("youtube") and d.title and ("<" in d.title or ">" in d.title):
        v.append(Violation(f"{t}.title_characters", "YouTube titles cannot contain < or >"))
    if spec.description_max_bytes and len(text.encode("utf-8")) > spec.description_max_bytes:
        v.append(Violation(f"{t}.description_length", f"description is {len(text.encode())} bytes; {t} allows "
                           f"{spec.description_max_bytes}"))
    if spec.text_required and not text.strip():
        v.append(Violation(f"{t}.description_required", f"{t} needs a description"))
    if spec.playlist_required and d.playlist_count < 1:
        v.append(Violation(f"{t}.playlist_required", f"{t} needs a playlist (youtubePlaylistIds)"))
    if spec.board_required and not d.board_id:
        v.append(Violation(f"{t}.board_required", "choose a Pinterest board (boardId) or set a default board"))
    if d.link and t == "pinterest" and len(d.link) > 2048:
        v.append(Violation(f"{t}.link_length", "link is longer than 2048 characters"))
    return v


def _carousel(t: str, spec: Spec, d: PostDraft, videos: tuple[MediaFacts, ...]) -> list[Violation]:
    """An Instagram carousel: 2 to 10 items, images and videos mixed freely, each held to its own rules."""
    v: list[Violation] = []
    n = len(d.images) + len(videos)
    if n > spec.carousel_max:
        v.append(Violation(f"{t}.carousel_count", f"a carousel has at most {spec.carousel_max} images and videos; "
                           f"got {n}", {"count": n, "max": spec.carousel_max}))
    for m in d.images:
        _check_media(t, spec, m, v, None)
    video_spec = Spec(video_mimes=spec.video_mimes, video_max_bytes=spec.video_max_bytes,
                      video_min_s=spec.carousel_video_min_s)
    for m in videos:
        _check_media(t, video_spec, m, v, spec.carousel_video_max_s)
    return v
