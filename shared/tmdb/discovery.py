"""Find the titles of each enabled module: TMDb calls in batches, the pure rules in between.

Per refresh (frontend-contract §3.3, peer-backend §3.2):
1. `discover/movie` + `discover/tv` for each module's dates (region US, popularity order; anniversaries one
   date per year, `vote_count.gte=1000` since rule 8 wants that anyway), page 1 for all in one batch, more pages
   (up to 3) only where the pool is still short of 3 × the module's max items;
2. the cheap rules on the list items (language, images, excluded genres, the popularity floor) before any
   details call; a title already in the ledger for this release cycle is not looked at again;
3. details with credits (and release dates for movies) for the best of the pool, in one batch;
4. the trending / upcoming rank (rule 7) only for titles whose popularity alone does not pass, fetched a page at
   a time and only as deep as the rule looks (trending 150, upcoming 250 / 300);
5. the full filter and the score; best first.
A title found by two modules goes to the higher-priority one (today, weekly, anniversary, monthly).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.tmdb import filters, scoring
from shared.tmdb.candidate import Candidate, from_details, from_list_item
from shared.tmdb.client import Req, TMDbClient, TMDbError
from shared.tmdb.modules import MODULES, PRIORITY, anniversary_targets, cycle_key, window
from shared.tmdb.settings import TMDbSettings

log = logging.getLogger("screndly.tmdb.discovery")

MAX_PAGES = 3
TRENDING_DEPTH, UPCOMING_DEPTH, UPCOMING_DEPTH_MONTHLY = 150, 250, 300
PAGE_SIZE = 20


@dataclass
class Found:
    module: str
    candidate: Candidate
    score: float
    key: str  # the ledger's cycle key


@dataclass
class Rejected:
    module: str
    title: str
    media_type: str
    tmdb_id: int
    reason: str


@dataclass
class Discovery:
    accepted: dict[str, list[Found]] = field(default_factory=lambda: {m: [] for m in MODULES})
    rejected: list[Rejected] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # cycle keys skipped because the ledger has them
    errors: list[str] = field(default_factory=list)


@dataclass
class _Query:
    module: str
    media_type: str
    params: dict[str, Any]
    anniversary_years: int | None = None
    page: int = 1
    total_pages: int = 1


def _key_of(module: str, c: Candidate) -> str | None:
    if c.release_date is None:
        return None
    return cycle_key(c.media_type, c.tmdb_id, module, c.release_date, c.anniversary_years)


def queries(cfg: TMDbSettings, today: date) -> list[_Query]:
    common: dict[str, Any] = {"include_adult": False, "language": "en-US", "sort_by": "popularity.desc"}
    if cfg.language:
        common["with_original_language"] = cfg.language
    if cfg.genres:
        common["with_genres"] = "|".join(str(g) for g in cfg.genres)
    out: list[_Query] = []
    for module in MODULES:
        if not cfg.enabled.get(module) or cfg.max_items.get(module, 0) <= 0:
            continue
        spans: list[tuple[date, date, int | None, dict]] = []
        if module == "anniversary":
            for n, d in anniversary_targets(today, list(cfg.anniversary_years), cfg.anniversary_start_year):
                spans.append((d, d, n, {"vote_count.gte": 1000}))
        else:
            w = window(module, today)
            spans.append((w.start, w.end, None, {}))
        for lo, hi, years, extra in spans:
            out.append(_Query(module, "movie", {**common, **extra, "region": "US",
                                                "primary_release_date.gte": lo.isoformat(),
                                                "primary_release_date.lte": hi.isoformat()}, years))
            out.append(_Query(module, "tv", {**common, **extra, "first_air_date.gte": lo.isoformat(),
                                             "first_air_date.lte": hi.isoformat()}, years))
    return out


def _req(q: _Query) -> Req:
    return Req.of(f"/3/discover/{q.media_type}", page=q.page, **{k.replace(".", "__"): v for k, v in q.params.items()})


async def discover(client: TMDbClient, cfg: TMDbSettings, today: date, known_keys: set[str] | None = None,
                   blocked=None) -> Discovery:
    """`known_keys`: cycle keys the ledger already holds; `blocked(module, (media_type, id))`: rule 10's reason
    to skip a title (posted recently), or None. Both spare details calls."""
    known_keys = known_keys or set()
    out = Discovery()
    ctx = {m: filters.RuleContext(module=m, today=today, only_popular=cfg.only_popular, language=cfg.language,
                                  genres=cfg.genres) for m in MODULES}
    pools: dict[str, list[Candidate]] = {m: [] for m in MODULES}
    seen: dict[tuple[str, int], str] = {}  # title -> module holding it

    def want(module: str) -> int:
        return max(8, 3 * cfg.max_items.get(module, 0))

    pending = queries(cfg, today)
    while pending:
        answers = await client.get_many([_req(q) for q in pending])
        nxt: list[_Query] = []
        for q, ans in zip(pending, answers):
            if isinstance(ans, Exception):
                out.errors.append(f"discover {q.module}/{q.media_type}: {ans}")
                continue
            q.total_pages = int(ans.get("total_pages") or 1)
            for item in ans.get("results") or []:
                c = from_list_item(item, q.media_type).with_(anniversary_years=q.anniversary_years)
                holder = seen.get(c.key)
                if holder is not None and PRIORITY[holder] <= PRIORITY[q.module]:
                    continue
                if holder is not None:  # a higher-priority module claims it
                    pools[holder] = [x for x in pools[holder] if x.key != c.key]
                why = filters.precheck(c, ctx[q.module])
                if why:
                    out.rejected.append(Rejected(q.module, c.title, c.media_type, c.tmdb_id, why))
                    continue
                key = _key_of(q.module, c)
                if key is None:
                    continue
                if key in known_keys:
                    out.already.append(key)
                    continue
                why = blocked(q.module, c.key) if blocked else None
                if why:
                    out.rejected.append(Rejected(q.module, c.title, c.media_type, c.tmdb_id, why))
                    continue
                seen[c.key] = q.module
                pools[q.module].append(c)
            if len(pools[q.module]) < want(q.module) and q.page < min(q.total_pages, MAX_PAGES):
                nxt.append(_Query(q.module, q.media_type, q.params, q.anniversary_years, q.page + 1, q.total_pages))
        pending = nxt

    # details for the most popular of each pool
    picked: list[tuple[str, Candidate]] = []
    for module, pool in pools.items():
        pool.sort(key=lambda c: -c.popularity)
        picked += [(module, c) for c in pool[: want(module)]]
    details = await client.get_many([TMDbClient.details(c.media_type, c.tmdb_id) for _, c in picked])
    full: list[tuple[str, Candidate]] = []
    for (module, c), d in zip(picked, details):
        if isinstance(d, Exception):
            out.errors.append(f"details {c.media_type}/{c.tmdb_id} ({c.title}): {d}")
            continue
        fc = from_details(d, c.media_type, base=c)
        if module != "anniversary" and fc.media_type == "movie" and fc.us_release_date is not None:
            w = window(module, today)
            if not w.contains(fc.us_release_date):
                out.rejected.append(Rejected(module, fc.title, fc.media_type, fc.tmdb_id,
                                             f"US release date {fc.us_release_date} is outside this module's dates"))
                continue
            fc = fc.with_(release_date=fc.us_release_date)
        full.append((module, fc))

    if cfg.only_popular:
        full = await _with_ranks(client, full, out)

    for module, c in full:
        reasons = filters.check(c, ctx[module])
        if reasons:
            out.rejected.append(Rejected(module, c.title, c.media_type, c.tmdb_id, reasons[0]))
            continue
        key = _key_of(module, c)
        if key is None:  # the filters refuse titles without a release date first; no cycle key, no ledger row
            out.rejected.append(Rejected(module, c.title, c.media_type, c.tmdb_id, "no release date"))
            continue
        out.accepted[module].append(Found(module, c, scoring.score(c, module, today), key))
    for module in MODULES:
        ranked = scoring.rank([(f.candidate, f.score) for f in out.accepted[module]])
        order = {(c.media_type, c.tmdb_id): i for i, (c, _) in enumerate(ranked)}
        out.accepted[module].sort(key=lambda f: order[f.candidate.key])
    return out


async def _with_ranks(client: TMDbClient, full: list[tuple[str, Candidate]],
                      out: Discovery) -> list[tuple[str, Candidate]]:
    """Trending / upcoming ranks for the titles rule 7 would otherwise judge on popularity alone."""
    need_trending = {c.key for m, c in full if m in ("today", "weekly") and c.popularity < 50}
    need_upcoming = {c.key for m, c in full if c.media_type == "movie" and (
        (m in ("today", "weekly") and c.popularity < 50) or (m == "monthly" and c.popularity < 60))}
    if not need_trending and not need_upcoming:
        return full
    trending: dict[tuple[str, int], int] = {}
    upcoming: dict[tuple[str, int], int] = {}
    page = 1
    t_done = not need_trending
    u_done = not need_upcoming
    t_pages = u_pages = 500
    while not (t_done and u_done):
        reqs, kinds = [], []
        if not t_done:
            reqs.append(TMDbClient.trending(page))
            kinds.append("t")
        if not u_done:
            reqs.append(TMDbClient.upcoming(page))
            kinds.append("u")
        for kind, ans in zip(kinds, await client.get_many(reqs)):
            if isinstance(ans, (TMDbError, Exception)):
                out.errors.append(f"{'trending' if kind == 't' else 'upcoming'} page {page}: {ans}")
                if kind == "t":
                    t_done = True
                else:
                    u_done = True
                continue
            for i, item in enumerate(ans.get("results") or []):
                rank = (page - 1) * PAGE_SIZE + i + 1
                if kind == "t":
                    trending.setdefault((str(item.get("media_type") or "movie"), int(item["id"])), rank)
                else:
                    upcoming.setdefault(("movie", int(item["id"])), rank)
            if kind == "t":
                t_pages = int(ans.get("total_pages") or 1)
            else:
                u_pages = int(ans.get("total_pages") or 1)
        page += 1
        t_done = t_done or need_trending <= set(trending) or page > min(t_pages, -(-TRENDING_DEPTH // PAGE_SIZE))
        u_done = (u_done or need_upcoming <= set(upcoming)
                  or page > min(u_pages, -(-UPCOMING_DEPTH_MONTHLY // PAGE_SIZE)))
    return [(m, c.with_(trending_rank=trending.get(c.key), upcoming_rank=upcoming.get(c.key))) for m, c in full]
