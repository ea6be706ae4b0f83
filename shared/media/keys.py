"""Object keys and what each upload purpose accepts (pure).

Keys are always chosen by the server: `<prefix>/<yyyy>/<mm>/<sanitized-name>-<random>.<ext>`. Renditions get
a stable key derived from their source and preset, so a re-run overwrites instead of duplicating.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

MB = 1024 * 1024
GB = 1024 * MB

VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-m4v"})
AUDIO_TYPES = frozenset({"audio/mpeg", "audio/mp4", "audio/aac", "audio/wav", "audio/x-wav", "audio/ogg",
                         "audio/webm", "audio/x-m4a"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
SUBTITLE_TYPES = frozenset({"text/vtt", "application/x-subrip", "text/plain"})
TEMPLATE_TYPES = frozenset({"image/vnd.adobe.photoshop", "application/octet-stream", "application/json"})


@dataclass(frozen=True)
class Purpose:
    name: str
    prefix: str
    content_types: frozenset[str]
    max_bytes: int


# presigned uploads (POST /api/uploads)
UPLOAD_PURPOSES: dict[str, Purpose] = {
    "trailers": Purpose("trailers", "trailers", VIDEO_TYPES, 4 * GB),
    "images": Purpose("images", "images", IMAGE_TYPES, 25 * MB),
    "thumbnails": Purpose("thumbnails", "thumbnails", IMAGE_TYPES, 10 * MB),
    "temp": Purpose("temp", "temp", VIDEO_TYPES | AUDIO_TYPES | IMAGE_TYPES, 4 * GB),
}

# direct multipart uploads of small files (the contract's upload-asset routes): folder -> purpose
ASSET_FOLDERS: dict[str, Purpose] = {
    "images": UPLOAD_PURPOSES["images"],
    "thumbnails": UPLOAD_PURPOSES["thumbnails"],
    "trailers": UPLOAD_PURPOSES["trailers"],
    "voiceovers": Purpose("voiceovers", "voiceovers", AUDIO_TYPES, 200 * MB),
    "music": Purpose("music", "music", AUDIO_TYPES, 200 * MB),
    "subtitles": Purpose("subtitles", "subtitles", SUBTITLE_TYPES, 5 * MB),
    "templates": Purpose("templates", "templates", TEMPLATE_TYPES | IMAGE_TYPES, 200 * MB),
    "template-previews": Purpose("template-previews", "template-previews", IMAGE_TYPES, 25 * MB),
    "renders": Purpose("renders", "renders", IMAGE_TYPES | VIDEO_TYPES, 200 * MB),
}

# transcode jobs read their source from these prefixes only
JOB_SOURCE_PREFIXES = ("trailers/", "temp/")
RENDITIONS_PREFIX = "renditions"
TEMP_PREFIX = "temp/"

_EXT_BY_TYPE = {
    "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv",
    "video/x-m4v": "m4v", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/aac": "aac",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/ogg": "ogg", "audio/webm": "weba", "image/jpeg": "jpg",
    "image/png": "png", "image/webp": "webp", "image/gif": "gif", "text/vtt": "vtt",
    "application/x-subrip": "srt", "image/vnd.adobe.photoshop": "psd", "application/json": "json",
}

_SAFE = re.compile(r"[^a-z0-9]+")


def media_family(content_type: str) -> str:
    """'video' | 'audio' | 'image' | 'other' for a declared content type."""
    major = content_type.split("/", 1)[0].lower()
    return major if major in ("video", "audio", "image") else "other"


def sanitize_base(file_name: str, max_len: int = 60) -> str:
    """A readable, URL-safe stem: ASCII, lowercase, dashes; never empty."""
    stem = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = _SAFE.sub("-", ascii_stem.lower()).strip("-")[:max_len].strip("-")
    return slug or "file"


def extension_for(file_name: str, content_type: str) -> str:
    known = _EXT_BY_TYPE.get(content_type.lower())
    if known:
        return known
    if "." in file_name:
        ext = _SAFE.sub("", file_name.rsplit(".", 1)[-1].lower())[:8]
        if ext:
            return ext
    return "bin"


def object_key(prefix: str, file_name: str, content_type: str, now: datetime, random_part: str) -> str:
    return (f"{prefix}/{now:%Y}/{now:%m}/{sanitize_base(file_name)}-{random_part}."
            f"{extension_for(file_name, content_type)}")


def rendition_prefix(source_key: str) -> str:
    stem = source_key.rsplit(".", 1)[0] if "." in source_key.rsplit("/", 1)[-1] else source_key
    return f"{RENDITIONS_PREFIX}/{stem}/"


def rendition_key(source_key: str, preset: str, ext: str) -> str:
    """Stable: the same source and preset always land on the same key (at-least-once runs overwrite)."""
    return f"{rendition_prefix(source_key)}{preset}.{ext}"


def is_job_source(key: str) -> bool:
    return key.startswith(JOB_SOURCE_PREFIXES) and ".." not in key and not key.endswith("/")
