"""A title as the rules see it: TMDb's details (with credits and release dates appended) normalised (pure).

Movies and TV shows name things differently (title/name, release_date/first_air_date, runtime/episodes); the
rules read one shape. Field meanings: TMDb's movie-details / tv-series-details definitions
(tests/contracts/tmdb/).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any


def parse_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Candidate:
    tmdb_id: int
    media_type: str  # movie | tv
    title: str
    release_date: date | None
    popularity: float = 0.0
    vote_count: int = 0
    vote_average: float = 0.0
    genre_ids: tuple[int, ...] = ()
    genre_names: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # production countries + origin countries (ISO 3166-1)
    companies: tuple[str, ...] = ()  # production companies (+ networks for TV)
    poster_path: str | None = None
    backdrop_path: str | None = None
    overview: str = ""
    original_language: str = ""
    runtime: int | None = None  # minutes; None or 0 = not known yet (TMDb lists 0 for many unreleased films)
    episodes: int | None = None  # TV: number_of_episodes
    tv_type: str | None = None  # TV: Scripted, Reality, Documentary, Miniseries, News, Talk Show, ...
    budget: int | None = None
    in_collection: bool = False
    cast: tuple[str, ...] = ()
    us_release_date: date | None = None  # movies: the US theatrical date from release_dates, when listed
    # filled by discovery
    trending_rank: int | None = None
    upcoming_rank: int | None = None
    anniversary_years: int | None = None
    details_fetched: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.media_type, self.tmdb_id)

    @property
    def year(self) -> int | None:
        return self.release_date.year if self.release_date else None

    def with_(self, **changes) -> Candidate:
        return replace(self, **changes)


def from_list_item(item: dict[str, Any], media_type: str) -> Candidate:
    """A discover/trending/search result (genre ids only, no countries or credits yet)."""
    title = item.get("title") if media_type == "movie" else item.get("name")
    released = item.get("release_date") if media_type == "movie" else item.get("first_air_date")
    return Candidate(
        tmdb_id=int(item["id"]), media_type=media_type, title=str(title or item.get("original_title")
                                                                   or item.get("original_name") or ""),
        release_date=parse_date(released), popularity=float(item.get("popularity") or 0),
        vote_count=int(item.get("vote_count") or 0), vote_average=float(item.get("vote_average") or 0),
        genre_ids=tuple(int(g) for g in item.get("genre_ids") or ()),
        countries=tuple(item.get("origin_country") or ()), poster_path=item.get("poster_path"),
        backdrop_path=item.get("backdrop_path"), overview=str(item.get("overview") or ""),
        original_language=str(item.get("original_language") or ""))


# US release types counted as "the" release (TMDb release types: 1 premiere, 2 theatrical limited, 3 theatrical,
# 4 digital, 5 physical, 6 TV — https://developer.themoviedb.org/reference/movie-release-dates)
_US_RELEASE_TYPES = (3, 2, 4)


def us_release(release_dates: dict[str, Any] | None) -> date | None:
    for country in (release_dates or {}).get("results") or []:
        if country.get("iso_3166_1") != "US":
            continue
        by_type: dict[int, date] = {}
        for r in country.get("release_dates") or []:
            d = parse_date(r.get("release_date"))
            t = int(r.get("type") or 0)
            if d and (t not in by_type or d < by_type[t]):
                by_type[t] = d
        for t in _US_RELEASE_TYPES:
            if t in by_type:
                return by_type[t]
    return None


def from_details(d: dict[str, Any], media_type: str, base: Candidate | None = None) -> Candidate:
    """movie-details / tv-series-details with `append_to_response=credits(,release_dates)`."""
    movie = media_type == "movie"
    countries = [c.get("iso_3166_1") for c in d.get("production_countries") or [] if c.get("iso_3166_1")]
    countries += list(d.get("origin_country") or [])
    companies = [c.get("name") for c in d.get("production_companies") or [] if c.get("name")]
    if not movie:
        companies += [n.get("name") for n in d.get("networks") or [] if n.get("name")]
    cast = [c.get("name") for c in sorted((d.get("credits") or {}).get("cast") or [],
                                          key=lambda c: c.get("order", 999)) if c.get("name")]
    runtime = d.get("runtime") if movie else None
    if not movie and d.get("episode_run_time"):
        runtime = (d.get("episode_run_time") or [None])[0]
    c = Candidate(
        tmdb_id=int(d["id"]), media_type=media_type,
        title=str((d.get("title") if movie else d.get("name")) or ""),
        release_date=parse_date(d.get("release_date") if movie else d.get("first_air_date")),
        popularity=float(d.get("popularity") or 0), vote_count=int(d.get("vote_count") or 0),
        vote_average=float(d.get("vote_average") or 0),
        genre_ids=tuple(int(g["id"]) for g in d.get("genres") or [] if "id" in g),
        genre_names=tuple(str(g.get("name")) for g in d.get("genres") or [] if g.get("name")),
        countries=tuple(dict.fromkeys(countries)), companies=tuple(dict.fromkeys(companies)),
        poster_path=d.get("poster_path"), backdrop_path=d.get("backdrop_path"), overview=str(d.get("overview") or ""),
        original_language=str(d.get("original_language") or ""), runtime=int(runtime) if runtime else None,
        episodes=int(d["number_of_episodes"]) if not movie and d.get("number_of_episodes") else None,
        tv_type=d.get("type") if not movie else None, budget=int(d["budget"]) if movie and d.get("budget") else None,
        in_collection=bool(d.get("belongs_to_collection")), cast=tuple(cast[:5]),
        us_release_date=us_release(d.get("release_dates")) if movie else None, details_fetched=True)
    if base is not None:
        c = c.with_(trending_rank=base.trending_rank, upcoming_rank=base.upcoming_rank,
                    anniversary_years=base.anniversary_years)
    return c
