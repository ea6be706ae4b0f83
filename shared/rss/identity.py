"""What makes two feed items "the same" (pure).

- `dedupe_key`: sha256 of the guid, else of the canonical link, else of title+content (Miniflux's order). It is
  unique per feed in Postgres, so a concurrent insert of the same item is a no-op.
- `canonical_url`: lower-case scheme/host, no default port, no fragment, tracking parameters removed, remaining
  query sorted, trailing slash trimmed: the same story linked from two feeds compares equal.
- `normalise_title` + `titles_near_duplicate`: cross-feed detection of the same story re-titled slightly
  ("Dune: Part Three — Official Trailer" vs "Dune Part Three official trailer!").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from difflib import SequenceMatcher
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mkt_tok", "ref", "ref_src",
    "ref_url", "cmpid", "cmp", "ncid", "ocid", "soc_src", "soc_trk", "smid", "taid", "__twitter_impression",
    "s_cid", "sr_share", "rss", "feed", "spref", "cid", "icid", "_ga", "ito", "guccounter", "xtor", "amp",
})


def canonical_url(url: str | None) -> str:
    if not url:
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = (parts.scheme or "http").lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port and not ((scheme == "http" and parts.port == 80) or
                                              (scheme == "https" and parts.port == 443)) else None
    netloc = host + (f":{port}" if port else "")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not (k.lower() in _TRACKING_NAMES or k.lower().startswith(_TRACKING_PREFIXES))]
    query.sort()
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    # http and https versions of a page are one story
    return urlunsplit(("https", netloc, path, urlencode(query), ""))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def dedupe_key(*, guid: str | None, link: str | None, title: str | None, content: str | None) -> str:
    if guid and guid.strip():
        return "g:" + _sha(guid.strip())
    canon = canonical_url(link)
    if canon:
        return "l:" + _sha(canon)
    return "t:" + _sha((title or "").strip() + "\x00" + (content or "").strip())


_STOP = frozenset({"the", "a", "an", "and", "of", "to", "in", "on", "for", "with", "at", "by", "is", "are"})


def normalise_title(title: str | None) -> str:
    """Case-folded, accent-free words, punctuation and a few stop words removed."""
    if not title:
        return ""
    t = unicodedata.normalize("NFKD", title)
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).casefold()
    words = re.findall(r"[^\W_]+", t)
    return " ".join(w for w in words if w not in _STOP)


def titles_near_duplicate(a: str, b: str, threshold: float = 0.9) -> bool:
    """Near-identical normalised titles. Short titles must be identical: "Trailer" vs "Trailer 2" differ."""
    na, nb = normalise_title(a), normalise_title(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    if min(len(na.split()), len(nb.split())) < 4:
        return False
    # the ratio is symmetric only in its result for equal-length inputs; take the max of both orders
    ratio = max(SequenceMatcher(None, na, nb).ratio(), SequenceMatcher(None, nb, na).ratio())
    return ratio >= threshold
