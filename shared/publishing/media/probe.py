"""Gather what validation needs about each media URL: type and size from a HEAD, image dimensions from the
first 64 KB, video duration and dimensions from what the media pipeline sent along (videoDurationSeconds,
videoWidth, videoHeight). Unknown stays None; the platform then judges it."""

from __future__ import annotations

from typing import Any

import httpx

from shared.publishing.media.imagesize import image_size
from shared.publishing.validation import MediaFacts


def _num(v: Any) -> float | None:
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def probe(client: httpx.Client, url: str, kind: str, hints: dict[str, Any] | None = None) -> tuple[MediaFacts, str | None]:
    """(facts, problem). `problem` is set when the URL cannot be read at all (a content error)."""
    hints = hints or {}
    mime, size, width, height = hints.get("mime"), hints.get("size"), hints.get("width"), hints.get("height")
    problem = None
    try:
        if kind == "image" and (width is None or height is None):
            r = client.get(url, headers={"Range": "bytes=0-65535"}, follow_redirects=True)
            if r.status_code >= 400:
                problem = f"{kind} URL answered HTTP {r.status_code}: {url[:200]}"
            else:
                mime = mime or (r.headers.get("content-type") or "").split(";")[0].strip() or None
                total = r.headers.get("content-range", "").rpartition("/")[2]
                size = size or (int(total) if total.isdigit() else
                                int(r.headers["content-length"]) if r.status_code == 200 and
                                "content-length" in r.headers else None)
                dims = image_size(r.content[:65536])
                if dims:
                    width, height = dims
        elif mime is None or size is None:
            # a one-byte ranged GET, not HEAD: a presigned GET URL is signed for GET only
            with client.stream("GET", url, headers={"Range": "bytes=0-0"}, follow_redirects=True) as r:
                if r.status_code >= 400:
                    problem = f"{kind} URL answered HTTP {r.status_code}: {url[:200]}"
                else:
                    mime = mime or (r.headers.get("content-type") or "").split(";")[0].strip() or None
                    total = r.headers.get("content-range", "").rpartition("/")[2]
                    size = size or (int(total) if total.isdigit() else
                                    int(r.headers["content-length"]) if r.status_code == 200 and
                                    "content-length" in r.headers else None)
    except httpx.HTTPError:
        pass  # unreachable right now: the adapter's own reads will classify it
    if mime in ("application/octet-stream", "binary/octet-stream"):
        mime = None
    facts = MediaFacts(kind=kind, url=url, mime=mime, size_bytes=int(size) if size else None,
                       width=int(width) if width else None, height=int(height) if height else None,
                       duration_s=_num(hints.get("duration")))
    return facts, problem
