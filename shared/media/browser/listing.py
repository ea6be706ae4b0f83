"""List one folder of the bucket, a page at a time, as the contract's BackblazeBrowserFile.

One bucket with per-purpose prefixes stands in for the old app's three buckets (general/videos/design):
videos -> trailers/, subtitles -> subtitles/, templates -> templates/.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
from typing import Any

from shared.errors import ValidationFailed

BROWSE_PREFIXES = {
    "videos": "trailers/",
    "subtitles": "subtitles/",
    "templates": "templates/",
}

_EXTRA_TYPES = {".vtt": "text/vtt", ".srt": "application/x-subrip", ".psd": "image/vnd.adobe.photoshop",
                ".mkv": "video/x-matroska", ".webm": "video/webm", ".m4a": "audio/mp4"}


def guess_type(key: str) -> str:
    dot = key.rfind(".")
    ext = key[dot:].lower() if dot >= 0 else ""
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def to_browser_file(obj: dict[str, Any], url: str) -> dict[str, Any]:
    key = obj["Key"]
    modified = obj.get("LastModified")
    millis = int(modified.timestamp() * 1000) if modified is not None else None
    return {"fileId": key, "fileName": key, "name": key.rsplit("/", 1)[-1], "contentType": guess_type(key),
            "contentLength": int(obj.get("Size", 0)), "uploadTimestamp": millis,
            "lastModified": modified.isoformat() if modified is not None else None, "url": url}


def _cursor_mac(kind: str, token: str) -> str:
    from shared.config import get_config

    key = hashlib.sha256(b"browse-cursor|" + get_config().jwt_secret.encode()).digest()
    return hmac.new(key, f"{kind}|{token}".encode(), hashlib.sha256).hexdigest()[:24]


def seal_cursor(kind: str, token: str) -> str:
    """The storage's continuation token plus our MAC: only cursors we handed out reach the storage API (a made-up
    token made the S3 server fail with a 500 instead of the caller getting a 400)."""
    return f"{token}.{_cursor_mac(kind, token)}"


def open_cursor(kind: str, cursor: str) -> str:
    token, _, mac = cursor.rpartition(".")
    if not token or not hmac.compare_digest(mac.encode(), _cursor_mac(kind, token).encode()):
        raise ValidationFailed("cursor is not one this listing handed out; start again without it",
                               details={"field": "cursor"})
    return token


def list_folder(kind: str, *, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], dict]:
    from shared.storage.s3 import get_storage

    storage = get_storage()
    token = open_cursor(kind, cursor) if cursor else None
    resp = storage.list(BROWSE_PREFIXES[kind], continuation_token=token, limit=max(1, min(limit, 1000)))
    files = [to_browser_file(o, storage.public_url(o["Key"])) for o in resp.get("Contents", [])
             if not o["Key"].endswith("/")]
    next_token = resp.get("NextContinuationToken") if resp.get("IsTruncated") else None
    next_cursor = seal_cursor(kind, next_token) if next_token else None
    return files, {"nextCursor": next_cursor, "hasMore": bool(next_cursor), "count": len(files)}
