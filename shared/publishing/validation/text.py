"""Text length as each platform counts it (pure).

X (twitter-text v3 config): NFC-normalised; code points in the Latin/general-punctuation ranges weigh 1, the
rest 2; an emoji sequence (ZWJ joins, skin tones, flags, variation selectors) weighs 2 as a whole; every URL
weighs 23 whatever its length, because t.co wraps it.
"""

from __future__ import annotations

import re
import unicodedata

X_URL_WEIGHT = 23
X_MAX_WEIGHT = 280

_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(
    r"(?:https?://[^\s<>\"]+|(?<![@\w.])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|org|net|io|co|tv|me|ly|app|dev|news|uk|us|ca|de|fr|info|film|movie|movies)(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:!?)]}'\""


def _is_emoji_start(cp: int) -> bool:
    return (0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF
            or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D))


def _is_emoji_modifier(cp: int) -> bool:
    return cp in (0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def _weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _URL.finditer(text):
        start, end = m.span()
        while end > start and text[end - 1] in _TRAILING_PUNCT:
            end -= 1
        spans.append((start, end))
    return spans


def _plain_weight(text: str) -> int:
    total, i, cps = 0, 0, [ord(c) for c in text]
    while i < len(cps):
        cp = cps[i]
        if _is_emoji_start(cp):
            i += 1
            # a flag is two regional indicators; anything joined by ZWJ or modifiers stays one emoji
            if 0x1F1E6 <= cp <= 0x1F1FF and i < len(cps) and 0x1F1E6 <= cps[i] <= 0x1F1FF:
                i += 1
            while i < len(cps):
                if _is_emoji_modifier(cps[i]):
                    i += 1
                elif cps[i] == 0x200D and i + 1 < len(cps):
                    i += 2
                else:
                    break
            total += 2
            continue
        total += _weight(cp)
        i += 1
    return total


def x_weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text or "")
    total, pos = 0, 0
    for start, end in _url_spans(text):
        total += _plain_weight(text[pos:start]) + X_URL_WEIGHT
        pos = end
    return total + _plain_weight(text[pos:])


def threads_length(text: str) -> int:
    """Threads counts characters, but an emoji counts as its UTF-8 byte length (field-notes §7)."""
    return sum(len(ch.encode("utf-8")) if _is_emoji_start(ord(ch)) or _is_emoji_modifier(ord(ch))
               or ord(ch) == 0x200D else 1 for ch in (text or ""))


def utf16_length(text: str) -> int:
    return len((text or "").encode("utf-16-le")) // 2


def char_length(text: str) -> int:
    return len(text or "")
