"""The film or show an RSS headline is about, found on TMDb, for its backdrop and poster (a feed's `tmdbEnabled`).

Headlines name their title in quotes ("'Dune: Part Three' Gets Its First Trailer") or just before Trailer,
Teaser, First Look or Season N ("Dune: Part Three Trailer Reveals ..."), once a section label in front
("Exclusive: ...") is set aside and only when no verb precedes it ("Netflix Drops Trailer for ..."). Only a
TMDb movie or series whose title equals the named one (case, punctuation and "&"/"and" aside) is used: a near
match would put another film's poster on the owner's post, which is worse than the feed's own image. TMDb's
search answers carry `backdrop_path` and `poster_path`, so one call usually suffices; a third image costs one
`/images` call.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_QUERY_CHARS = 80

# an opening quote at a word's start, a closing one at a word's end: "Marvel's 'Blade'" names Blade, not "s "
_QUOTED = re.compile(r"(?<!\w)[\"'\u2018\u201c]([^\"'\u2018\u2019\u201c\u201d]{2,80}?)[\"'\u2019\u201d](?!\w)")
# Only words that follow a title in a headline: section labels and verbs ("Weekend Box Office:", "Film Review:",
# "Netflix Drops Trailer ...", "Sony Reveals ...") come after studios, people and labels just as often, and a
# label that is also a film's title ("Weekend", "Film") would pass the exact-match rule with the wrong poster.
_MARKER = re.compile(
    r"\s+(?:official\s+|final\s+|new\s+|first\s+|latest\s+)?(?:trailers?|teasers?|first look|season \d+)\b",
    re.IGNORECASE)
# a section label in front of the headline ("Exclusive: ...", "Weekend Box Office: ...") is not part of a title
_LABEL = re.compile(r"^(?:exclusive|watch|breaking|report|video|update|interview|(?:film |tv |movie )?review|"
                    r"(?:weekend )?box office|(?:exclusive )?clip|first look|trailer|teaser)\s*:\s*", re.IGNORECASE)
# a verb before the marker means the words before it are a studio or a person ("Netflix Drops Trailer for ...")
_VERB = re.compile(r"\b(?:drops|releases|reveals|unveils|shares|debuts|gets|lands|launches|shows)\b",
                   re.IGNORECASE)
_SEPARATORS = re.compile(r"\s+[|\u2013\u2014-]\s+")


def subject_queries(headline: str) -> list[str]:
    """The titles a headline may name, most likely first (at most three, no duplicates)."""
    text = " ".join((headline or "").split())
    out: list[str] = []

    def add(candidate: str) -> None:
        candidate = candidate.strip(" \t-\u2013\u2014:|,.!?")
        if 2 <= len(candidate) <= MAX_QUERY_CHARS and normalize(candidate) and \
                normalize(candidate) not in (normalize(c) for c in out):
            out.append(candidate)

    for quoted in _QUOTED.finditer(text):
        add(quoted.group(1))
    if out:  # quoted titles are the headline's own say: a guess from the word order would only add noise
        return out[:3]
    first_segment = _SEPARATORS.split(text, maxsplit=1)[0]
    first_segment = _LABEL.sub("", first_segment)
    marker = _MARKER.search(first_segment)
    if marker and marker.start() > 0:
        candidate = first_segment[:marker.start()]
        if not _VERB.search(candidate):
            add(candidate)
    return out[:3]


def normalize(title: str) -> str:
    """Lower case, accents and punctuation dropped, '&' read as 'and': 'Dune: Part Three' == 'dune part three'."""
    t = unicodedata.normalize("NFKD", title or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower().replace("&", " and ")
    t = re.sub(r"[^\w\s]", " ", t)
    return " ".join(t.split())


@dataclass(frozen=True)
class Match:
    media_type: str  # movie | tv
    tmdb_id: int
    title: str
    backdrop_path: str | None
    poster_path: str | None


def pick(results: list[dict[str, Any]], query: str) -> Match | None:
    """The most popular movie or series in a /search/multi page whose title is exactly the query; else None."""
    wanted = normalize(query)
    best: tuple[float, Match] | None = None
    for r in results or []:
        if r.get("media_type") not in ("movie", "tv") or r.get("adult"):
            continue
        if not (r.get("backdrop_path") or r.get("poster_path")):
            continue
        names = [r.get(k) for k in ("title", "original_title", "name", "original_name")]
        if not any(isinstance(n, str) and normalize(n) == wanted for n in names):
            continue
        title = next(n for n in names if isinstance(n, str) and n)
        match = Match(r["media_type"], int(r["id"]), title, r.get("backdrop_path"), r.get("poster_path"))
        popularity = float(r.get("popularity") or 0)
        if best is None or popularity > best[0]:
            best = (popularity, match)
    return best[1] if best else None


async def tmdb_images(client, credential: str, headline: str, count: int) -> tuple[list[tuple[str, str]], str]:
    """([(image url, reason)], why-none). Backdrop first (the landscape frame X and Facebook show best), then
    the poster, then further backdrops when more images are wanted."""
    from shared.tmdb import images as tmdb_image_urls
    from shared.tmdb.client import TMDbClient, TMDbError

    queries = subject_queries(headline)
    if not queries:
        return [], "the headline names no title to look up on TMDb"
    tmdb = TMDbClient(credential, http=client)
    try:
        match = None
        for q in queries:
            answer = await tmdb.get(TMDbClient.search(q))
            match = pick(list((answer or {}).get("results") or []), q)
            if match:
                break
        if match is None:
            return [], "no TMDb movie or series is titled " + " or ".join(f"'{q}'" for q in queries)
        label = f"'{match.title}' ({'movie' if match.media_type == 'movie' else 'series'})"
        found: list[tuple[str, str]] = []
        if match.backdrop_path:
            found.append((tmdb_image_urls.url(match.backdrop_path, tmdb_image_urls.BACKDROP_SIZE) or "",
                          f"TMDb backdrop of {label}"))
        if match.poster_path:
            found.append((tmdb_image_urls.url(match.poster_path, tmdb_image_urls.POSTER_SIZE) or "",
                          f"TMDb poster of {label}"))
        if len(found) < count:
            pool = await tmdb.get(TMDbClient.images(match.media_type, match.tmdb_id))
            for b in (pool or {}).get("backdrops") or []:
                u = tmdb_image_urls.url(b.get("file_path"), tmdb_image_urls.BACKDROP_SIZE)
                if u and all(u != f for f, _ in found):
                    found.append((u, f"TMDb backdrop of {label}"))
        return found, ""
    except TMDbError as exc:
        return [], f"TMDb: {exc}"
    finally:
        await tmdb.aclose()
