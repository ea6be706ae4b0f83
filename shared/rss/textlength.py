"""Caption length the way each platform counts it, and shortening that never breaks a URL (pure).

X follows twitter-text v3 weighting: code points in the Latin/General-Punctuation ranges weigh 1, everything else
(CJK, emoji) weighs 2, an emoji sequence (ZWJ, skin tones, variation selectors) weighs 2 in total, and every URL
counts as 23 whatever its length. Text is NFC-normalised first. Other platforms count code points.
"""

from __future__ import annotations

import re
import unicodedata

X_URL_WEIGHT = 23
LIMITS: dict[str, int] = {
    "x": 280,
    "threads": 500,
    "facebook": 63_206,
    "instagram": 2_200,
    "pinterest": 500,
    "tiktok": 2_200,
    "youtube": 5_000,
}
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]'’”]", re.IGNORECASE)
_EMOJI_JOINERS = {0x200D, 0xFE0F, 0xFE0E, 0x20E3}


def _is_emoji(cp: int) -> bool:
    return 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x1F1E6 <= cp <= 0x1F1FF


def _weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _x_plain_length(text: str) -> int:
    total, i, n = 0, 0, len(text)
    while i < n:
        cp = ord(text[i])
        if _is_emoji(cp):
            # consume the whole emoji sequence: one glyph, weight 2
            i += 1
            while i < n:
                nxt = ord(text[i])
                if nxt in _EMOJI_JOINERS or 0x1F3FB <= nxt <= 0x1F3FF or 0xE0020 <= nxt <= 0xE007F:
                    i += 1
                    if nxt == 0x200D and i < n:
                        i += 1
                    continue
                if 0x1F1E6 <= cp <= 0x1F1FF and 0x1F1E6 <= nxt <= 0x1F1FF:
                    i += 1  # a regional-indicator pair is one flag
                    cp = 0
                    continue
                break
            total += 2
            continue
        total += _weight(cp)
        i += 1
    return total


def x_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for m in URL_RE.finditer(text):
        total += _x_plain_length(text[pos:m.start()]) + X_URL_WEIGHT
        pos = m.end()
    return total + _x_plain_length(text[pos:])


def caption_length(text: str, platform: str) -> int:
    if platform == "x":
        return x_length(text)
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
        candidate = prose + (" " if URL_RE.search(prose.rsplit(None, 1)[-1] if prose.split() else "") else "") + _ELLIPSIS
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
