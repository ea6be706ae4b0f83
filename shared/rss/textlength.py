"""Caption length the way each platform counts it, and shortening that never breaks a URL (pure).

Counting is the publishing engine's own (shared/publishing/validation/text.py: X's twitter-text weighting with
URLs as 23, Threads' emoji-as-UTF-8-bytes), so a caption RSS fits is never refused at publish time. Other
platforms count code points after NFC normalisation.
"""

from __future__ import annotations

import re
import unicodedata

from shared.publishing.validation.text import threads_length, x_weighted_length

LIMITS: dict[str, int] = {
    "x": 280,
    "threads": 500,
    "facebook": 63_206,
    "instagram": 2_200,
    "pinterest": 500,
    "tiktok": 2_200,
    "youtube": 5_000,
}
# the URLs shortening keeps whole (an explicit scheme or www.); bare domains are single words anyway
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]'’”]", re.IGNORECASE)


def x_length(text: str) -> int:
    return x_weighted_length(text)


def caption_length(text: str, platform: str) -> int:
    if platform == "x":
        return x_weighted_length(text)
    if platform == "threads":
        return threads_length(unicodedata.normalize("NFC", text))
    return len(unicodedata.normalize("NFC", text))


def limit_for(platform: str) -> int:
    return LIMITS.get(platform, 2_200)


def fits(text: str, platform: str, limit: int | None = None) -> bool:
    return caption_length(text, platform) <= (limit or limit_for(platform))


_ELLIPSIS = "…"


def shorten(text: str, platform: str, limit: int | None = None) -> str:
    """Fit `text` into the platform's limit by dropping whole words from the end of the prose.

    URLs are atomic: one is either kept whole or dropped whole. A URL at the very end (the article link) is
    kept and the prose before it shortened instead, so the post still links to its story.
    """
    limit = limit or limit_for(platform)
    if caption_length(text, platform) <= limit:
        return text
    text = unicodedata.normalize("NFC", text)
    tail, sep = "", " "
    stripped = text.rstrip()
    last = None
    for m in URL_RE.finditer(stripped):
        last = m
    body = stripped
    if last is not None and last.end() == len(stripped) and caption_length(last.group(0), platform) <= limit:
        tail = last.group(0)
        body = stripped[:last.start()].rstrip()
        sep = stripped[len(body):last.start()] or " "
    tokens = _tokens(body)
    while tokens:
        prose = _join(tokens)
        # an ellipsis glued to a URL would become part of it
        last_word = prose.rsplit(None, 1)[-1] if prose.split() else ""
        candidate = prose + (" " if URL_RE.search(last_word) else "") + _ELLIPSIS
        full = candidate + (sep + tail if tail else "")
        if caption_length(full, platform) <= limit:
            return full
        tokens.pop()
    if tail and caption_length(tail, platform) <= limit:
        return tail
    # a single enormous word with no room: cut it by characters; URLs are dropped whole, never cut
    out = ""
    plain = re.sub(r"\s+", " ", URL_RE.sub(" ", body)).strip()
    for ch in plain:
        if caption_length(out + ch + _ELLIPSIS, platform) > limit:
            break
        out += ch
    return (out + _ELLIPSIS) if out else ""


def _tokens(body: str) -> list[str]:
    """Whitespace-separated words with their leading whitespace, URLs as single tokens."""
    return re.findall(r"\s*\S+", body)


def _join(tokens: list[str]) -> str:
    text = "".join(tokens).rstrip()
    if tokens and URL_RE.search(tokens[-1]):
        return text  # trailing punctuation of a URL belongs to it
    return text.rstrip(" ,;:-—–").rstrip()
