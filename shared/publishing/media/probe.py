"""Gather what validation needs about each media URL: type and size from a one-byte ranged GET, image
dimensions from the first 64 KB, video duration and dimensions from what the media pipeline sent along
(videoDurationSeconds, videoWidth, videoHeight). Unknown stays None; the platform then judges it.

Reads go through the SSRF guard (media/fetch.py) and never past 64 KB, even from a server that ignores Range."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from shared.publishing.media.fetch import MediaFetcher, MediaRefused, read_capped
from shared.publishing.media.imagesize import image_size
from shared.publishing.validation import MediaFacts

HEAD_BYTES = 65536


def _num(v: Any) -> float | None:
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _total(r: httpx.Response) -> int | None:
    total = r.headers.get("content-range", "").rpartition("/")[2]
    if total.isdigit():
        return int(total)
    length = r.headers.get("content-length", "")
    return int(length) if r.status_code == 200 and length.isdigit() else None


def probe(url: str, kind: Literal["image", "video"], hints: dict[str, Any] | None = None,
          fetcher: MediaFetcher | None = None) -> tuple[MediaFacts, str | None]:
    """(facts, problem). `problem` is set when the URL cannot be read at all or may not be (a content error)."""
    hints = hints or {}
    fetcher = fetcher or MediaFetcher()
    mime, size, width, height = hints.get("mime"), hints.get("size"), hints.get("width"), hints.get("height")
    problem = None
    want_dims = kind == "image" and (width is None or height is None)
    try:
        if want_dims or mime is None or size is None:
            # a ranged GET, not HEAD: a presigned GET URL is signed for GET only
            rng = f"bytes=0-{HEAD_BYTES - 1}" if want_dims else "bytes=0-0"
            with fetcher.stream(url, {"Range": rng}) as r:
                if r.status_code >= 400:
                    problem = f"{kind} URL answered HTTP {r.status_code}: {url[:200]}"
                else:
                    mime = mime or (r.headers.get("content-type") or "").split(";")[0].strip() or None
                    size = size or _total(r)
                    if want_dims:
                        dims = image_size(read_capped(r, HEAD_BYTES))
                        if dims:
                            width, height = dims
    except MediaRefused as exc:
        problem = f"{kind} URL refused: {exc}"
    except httpx.HTTPError:
        pass  # unreachable right now: the adapter's own reads will classify it
    if mime in ("application/octet-stream", "binary/octet-stream"):
        mime = None
    facts = MediaFacts(kind=kind, url=url, mime=mime, size_bytes=int(size) if size else None,
                       width=int(width) if width else None, height=int(height) if height else None,
                       duration_s=_num(hints.get("duration")))
    return facts, problem
