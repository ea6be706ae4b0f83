"""Which new uploads are trailers (pure).

- The title must contain one of the trailer keywords (`advancedFilters`, comma-separated; default
  "trailer, official, teaser"), matched case-insensitively on word boundaries.
- Shorts are excluded (`excludeShorts`, default on): a /shorts/ URL, or #shorts / #short / (shorts) / (short) /
  "youtube shorts" / "short video" in the title.
- Region keywords (`regionFilter`, e.g. "US,UK") are optional: when a title names a region edition
  ("UK Trailer", "(Australia)", "Hindi Trailer"), that region must be in the list; titles naming no region pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_KEYWORDS = "trailer, official, teaser"
_SHORTS_MARKERS = ("#shorts", "#short", "(shorts)", "(short)", "youtube shorts", "short video")
# region word -> canonical code
REGIONS = {
    "us": "US", "usa": "US", "american": "US", "uk": "UK", "british": "UK", "au": "AU", "australia": "AU",
    "australian": "AU", "canada": "CA", "canadian": "CA", "india": "IN", "indian": "IN", "hindi": "IN",
    "tamil": "IN", "telugu": "IN", "german": "DE", "deutsch": "DE", "french": "FR", "spanish": "ES",
    "latino": "LATAM", "japanese": "JP", "japan": "JP", "korean": "KR", "italian": "IT", "brazil": "BR",
    "brazilian": "BR", "international": "INTL", "nz": "NZ",
}
_REGION_RE = re.compile(r"\b(" + "|".join(sorted(REGIONS, key=len, reverse=True)) +
                        r")\b(?=[^a-z0-9]*(?:official\s+)?(?:trailer|teaser|tv spot)|\))", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    detected: bool
    keyword: str | None = None
    reason: str = ""


def parse_keywords(raw: str | None) -> list[str]:
    return [k.strip().lower() for k in (raw if raw is not None else DEFAULT_KEYWORDS).split(",") if k.strip()]


def parse_regions(raw: str | None) -> set[str]:
    out = set()
    for part in (raw or "").split(","):
        p = part.strip().lower()
        if p:
            out.add(REGIONS.get(p, p.upper()))
    return out


def is_short(title: str, url: str | None) -> bool:
    t = title.lower()
    return bool(url and "/shorts/" in url) or any(m in t for m in _SHORTS_MARKERS)


def title_regions(title: str) -> set[str]:
    return {REGIONS[m.group(1).lower()] for m in _REGION_RE.finditer(title)}


def decide(title: str, url: str | None, *, keywords: list[str], exclude_shorts: bool = True,
           regions: set[str] | None = None) -> Decision:
    if exclude_shorts and is_short(title, url):
        return Decision(False, reason="YouTube Short")
    low = title.lower()
    hit = next((k for k in keywords if re.search(r"(?<!\w)" + re.escape(k) + r"(?!\w)", low)), None)
    if hit is None:
        return Decision(False, reason="no trailer keyword in the title")
    if regions:
        named = title_regions(title)
        if named and not (named & regions):
            return Decision(False, keyword=hit, reason=f"region {', '.join(sorted(named))} not in the region filter")
    return Decision(True, keyword=hit, reason=f'matched "{hit}"')
