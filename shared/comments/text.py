"""Text facts about comments and replies (pure): emoji clusters, links, hashtags, mentions.

An emoji is a cluster: a pictograph plus whatever joins or modifies it (ZWJ sequences such as a family, skin
tones, the emoji variation selector, keycaps, flag pairs, tag sequences), so "👍🏽" or "👨‍👩‍👧" count as one.
Ranges follow Unicode's emoji blocks (https://unicode.org/Public/emoji/latest/emoji-sequences.txt).
"""

from __future__ import annotations

import re
import unicodedata

_PICTO_RANGES = (
    (0x1F000, 0x1FAFF),  # mahjong .. symbols & pictographs extended-A (incl. emoticons, transport, flags letters)
    (0x2600, 0x27BF),    # misc symbols, dingbats (☀ ❤ ✨ ✅)
    (0x2300, 0x23FF),    # misc technical (⌚ ⏰)
    (0x2B00, 0x2BFF),    # arrows/stars (⭐ ⬆)
    (0x2190, 0x21FF),    # arrows (↔ ↩)
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x2122, 0x2122), (0x2139, 0x2139), (0x203C, 0x203C), (0x2049, 0x2049),
)
_JOINERS = {0x200D, 0xFE0F, 0xFE0E, 0x20E3}  # ZWJ, variation selectors, combining keycap
_MODIFIERS = (0x1F3FB, 0x1F3FF)  # skin tones
_TAGS = (0xE0020, 0xE007F)


def _is_picto(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _PICTO_RANGES)


def _is_part(cp: int) -> bool:
    return cp in _JOINERS or _MODIFIERS[0] <= cp <= _MODIFIERS[1] or _TAGS[0] <= cp <= _TAGS[1]


def tokens(text: str) -> list[tuple[str, bool]]:
    """Split text into (piece, is_emoji) runs, each emoji cluster its own piece."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        cp = ord(text[i])
        keycap = text[i] in "0123456789#*" and i + 1 < n and (ord(text[i + 1]) in (0xFE0F, 0x20E3))
        if _is_picto(cp) or keycap:
            j = i + 1
            while j < n:
                c = ord(text[j])
                if _is_part(c):
                    j += 1
                    if c == 0x200D and j < n and _is_picto(ord(text[j])):
                        j += 1  # the next pictograph of a ZWJ sequence
                    continue
                if 0x1F1E6 <= cp <= 0x1F1FF and 0x1F1E6 <= c <= 0x1F1FF and j == i + 1:
                    j += 1  # a flag: two regional indicators
                    continue
                break
            out.append((text[i:j], True))
            i = j
            continue
        j = i + 1
        while j < n and not _is_picto(ord(text[j])) and not (text[j] in "0123456789#*" and j + 1 < n
                                                               and ord(text[j + 1]) in (0xFE0F, 0x20E3)):
            j += 1
        out.append((text[i:j], False))
        i = j
    return out


def emoji_count(text: str) -> int:
    return sum(1 for _, e in tokens(text or "") if e)


def is_emoji_only(text: str) -> bool:
    """True for "🔥🔥", "❤️ !!", "👏🏽 👏🏽"; False for text with any letter or digit, and for empty text."""
    has_emoji = False
    for piece, is_emoji in tokens((text or "").strip()):
        if is_emoji:
            has_emoji = True
            continue
        for ch in piece:
            if ch.isspace() or ord(ch) in _JOINERS:
                continue
            if unicodedata.category(ch)[0] in ("P", "S"):  # punctuation and symbols ("!!", "…", "+1"'s "+")
                continue
            return False
    return has_emoji


_TLDS = ("com|net|org|io|co|me|ly|gg|tv|app|link|xyz|info|biz|us|uk|ca|de|fr|site|online|shop|store|live|"
         "news|page|club|top|vip|fun|click|ai|to|be|gl|tk|ru|cn|in|ng")
LINK = re.compile(r"(?i)\bhttps?://\S+|\bwww\.\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:" + _TLDS + r")\b(?:/\S*)?")
HASHTAG = re.compile(r"(?<![\w&])#\w+")
MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]+")


def has_link(text: str) -> bool:
    return bool(LINK.search(text or ""))


def strip_leading_mentions(text: str) -> str:
    """X prefixes replies with the handles they answer ("@fan thanks!"): compare without them."""
    return re.sub(r"^(?:\s*@[A-Za-z0-9_]+)+\s*", "", text or "")
