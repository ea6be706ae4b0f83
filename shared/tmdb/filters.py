"""The "Hollywood" filter of frontend-contract §3.3 (rules 1-8), plus the owner's own filters (pure).

Each rule returns None when the title passes, or a short reason the activity log shows. `check` runs them all in
the contract's order and returns every reason (the first is the one the log leads with). With `onlyPopular` off
the popularity-driven rules (2, 4 and 7) are skipped: the owner asked for everything that fits, not only hits.
The owner's `languageFilter` and genre selection apply on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shared.tmdb.candidate import Candidate

APPROVED_GENRES = frozenset({28, 12, 16, 35, 18, 10751, 14, 27, 9648, 10749, 878, 53,
                             # TV's own ids for the same kinds: Action & Adventure, Sci-Fi & Fantasy, Mystery,
                             # Drama, Comedy, Animation, Family, Crime
                             10759, 10765, 80})
EXCLUDED_GENRES = frozenset({99, 37, 36, 10752, 10402, 10770,
                             # TV: News, Reality, Talk, Documentary(99 above), War & Politics
                             10763, 10764, 10767, 10768})
HIGH_DEMAND_GENRES = frozenset({28, 12, 878, 27, 14, 10759, 10765})

# rule 4: ~33 major studios and streamers; "top" ones score more (rule 9)
MAJOR_STUDIOS = (
    "warner bros", "walt disney", "disney", "marvel", "lucasfilm", "pixar", "universal", "paramount", "netflix",
    "amazon", "mgm", "metro-goldwyn-mayer", "hbo", "apple", "sony pictures", "columbia pictures", "lionsgate",
    "a24", "blumhouse", "20th century", "searchlight", "focus features", "legendary", "dreamworks",
    "new line cinema", "dc studios", "dc films", "illumination", "skydance", "neon", "miramax", "hulu",
    "fx productions", "peacock",
)
TOP_STUDIOS = ("walt disney", "disney", "marvel", "warner bros", "universal", "paramount", "netflix", "pixar",
               "lucasfilm", "hbo")

REJECTED_KEYWORDS = ("documentary", "docuseries", "docu-series", "indie", "festival", "reality", "sports",
                     "fan film", "fan-made", "parody", "behind the scenes", "making of", "concert", "stand-up",
                     "standup", "wwe", "ufc", "wrestling", "live event", "recap", "compilation")
REJECTED_TV_TYPES = frozenset({"reality", "talk show", "news", "documentary", "miniseries"})


@dataclass(frozen=True)
class RuleContext:
    module: str  # today | weekly | monthly | anniversary
    today: date
    only_popular: bool = True
    language: str = "en"  # '' = any
    genres: tuple[int, ...] = ()  # the owner's selection; empty = any approved genre


def _keyword_re() -> re.Pattern:
    return re.compile(r"\b(" + "|".join(re.escape(k) for k in REJECTED_KEYWORDS) + r")\b", re.IGNORECASE)


_KEYWORDS = _keyword_re()


def is_major(companies: tuple[str, ...]) -> bool:
    return any(m in c.lower() for c in companies for m in MAJOR_STUDIOS)


def is_top(companies: tuple[str, ...]) -> bool:
    return any(m in c.lower() for c in companies for m in TOP_STUDIOS)


def released(c: Candidate, today: date) -> bool:
    return c.release_date is not None and c.release_date < today


# --- rules 1-8 -----------------------------------------------------------------------------------------------

def rule_us_only(c: Candidate, ctx: RuleContext) -> str | None:
    if not any(x in ("US", "USA") for x in c.countries):
        return "not a US production (rule 1)"
    return None


def rule_popularity(c: Candidate, ctx: RuleContext) -> str | None:
    floor = 40 if ctx.module == "monthly" else 25
    if c.popularity < floor:
        return f"popularity {c.popularity:.1f} < {floor} (rule 2)"
    if released(c, ctx.today) and c.vote_count < 300:
        return f"released with only {c.vote_count} votes < 300 (rule 2)"
    return None


def rule_genres(c: Candidate, ctx: RuleContext) -> str | None:
    bad = sorted(set(c.genre_ids) & EXCLUDED_GENRES)
    if bad:
        return f"excluded genre {bad[0]} (rule 3)"
    if not set(c.genre_ids) & APPROVED_GENRES:
        return "no approved genre (rule 3)"
    if ctx.genres and not set(c.genre_ids) & set(ctx.genres):
        return "none of the selected genres"
    return None


def rule_studio(c: Candidate, ctx: RuleContext) -> str | None:
    floor = 25 if is_major(c.companies) else 50
    if c.popularity < floor:
        return f"{'major' if floor == 25 else 'non-major'} studio needs popularity >= {floor} (rule 4)"
    return None


def rule_images(c: Candidate, ctx: RuleContext) -> str | None:
    if not c.poster_path or not c.backdrop_path:
        return "missing poster or backdrop (rule 5)"
    return None


def rule_eligibility(c: Candidate, ctx: RuleContext) -> str | None:
    m = _KEYWORDS.search(f"{c.title}\n{c.overview}")
    if m:
        return f"rejected keyword '{m.group(1).lower()}' (rule 6)"
    if c.media_type == "tv" and c.tv_type and c.tv_type.strip().lower() in REJECTED_TV_TYPES:
        return f"TV type {c.tv_type} (rule 6)"
    if c.media_type == "movie" and c.runtime and c.runtime < 60:
        return f"runtime {c.runtime} min < 60 (rule 6)"
    if c.media_type == "tv" and c.episodes is not None and c.episodes < 3:
        return f"{c.episodes} episode(s) < 3 (rule 6)"
    return None


def rule_trending(c: Candidate, ctx: RuleContext) -> str | None:
    if ctx.module in ("today", "weekly"):
        if (c.trending_rank is not None and c.trending_rank <= 150) or (
                c.upcoming_rank is not None and c.upcoming_rank <= 250) or c.popularity >= 50:
            return None
        return "not trending (rank > 150), not upcoming (rank > 250) and popularity < 50 (rule 7)"
    if ctx.module == "monthly":
        if (c.upcoming_rank is not None and c.upcoming_rank <= 300) or c.popularity >= 60:
            return None
        return "not upcoming (rank > 300) and popularity < 60 (rule 7)"
    return None


def rule_anniversary(c: Candidate, ctx: RuleContext) -> str | None:
    if ctx.module != "anniversary":
        return None
    if c.vote_count < 1000:
        return f"{c.vote_count} votes < 1000 (rule 8)"
    if c.vote_average < 6.5:
        return f"rating {c.vote_average:.1f} < 6.5 (rule 8)"
    if c.budget and c.budget < 10_000_000:
        return f"budget ${c.budget:,} < $10M (rule 8)"
    return None


def rule_language(c: Candidate, ctx: RuleContext) -> str | None:
    if ctx.language and c.original_language and c.original_language.lower() != ctx.language:
        return f"original language {c.original_language} is not {ctx.language}"
    return None


POPULARITY_RULES = (rule_popularity, rule_studio, rule_trending)
RULES = (rule_language, rule_us_only, rule_popularity, rule_genres, rule_studio, rule_images, rule_eligibility,
         rule_trending, rule_anniversary)


def check(c: Candidate, ctx: RuleContext) -> list[str]:
    """Every reason the title is rejected (empty: it passes)."""
    out = []
    for rule in RULES:
        if not ctx.only_popular and rule in POPULARITY_RULES:
            continue
        why = rule(c, ctx)
        if why:
            out.append(why)
    return out


def precheck(c: Candidate, ctx: RuleContext) -> str | None:
    """The rules a list item (before its details are fetched) can already fail: spares a details call."""
    for rule in (rule_language, rule_images):
        why = rule(c, ctx)
        if why:
            return why
    bad = set(c.genre_ids) & EXCLUDED_GENRES
    if bad:
        return f"excluded genre {sorted(bad)[0]} (rule 3)"
    if ctx.only_popular:
        floor = 40 if ctx.module == "monthly" else 25
        if c.popularity < floor:
            return f"popularity {c.popularity:.1f} < {floor} (rule 2)"
    return None
