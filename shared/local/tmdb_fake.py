"""A local TMDb API v3 for tests, the benchmark and `make dev` without a TMDb key.

It is held to TMDb's own per-endpoint OpenAPI definitions (tests/contracts/tmdb/, copied from
https://developer.themoviedb.org/openapi/tmdb-api.json; SOURCE.md there): every request is checked against the
definition of its path before it is answered, and a request the definition does not allow is refused the way
TMDb refuses it (https://developer.themoviedb.org/docs/errors):
- authentication: `Authorization: Bearer <v4 token>` (the definitions' securitySchemes.sec0) or the v3
  `api_key` query parameter (https://developer.themoviedb.org/docs/authentication-application); else 401,
  status_code 7;
- the path must be one the definitions describe (else 404, status_code 34), path parameters of their type;
- query parameters: only the ones the operation declares (stricter than TMDb, which ignores unknown ones: a typo
  in our client must fail loudly), of their declared type (integer, number, boolean, enum, `format: date`),
  required ones present; `page` 1-500 (status_code 22); `append_to_response` at most 20 items of the same
  namespace (the definitions' own description);
- a request rate above `rate_limit` per 10 s gets 429 with `Retry-After`, status_code 25
  (https://developer.themoviedb.org/docs/rate-limiting).

The catalogue is generated around a chosen "today": titles releasing today, this week, next month, and classics
with anniversaries today, plus titles each rule of the filter rejects. Images are served at /t/p/<size>/<file>.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SPEC_DIR = Path(__file__).resolve().parents[2] / "tests" / "contracts" / "tmdb"
FAKE_KEY = "local-tmdb-v3-key-0000000000000000"  # 34 chars: a v3 key (query parameter)
FAKE_TOKEN = "eyJhbGciOiJIUzI1NiJ9.local-tmdb-read-access-token.signature"  # a v4 read token (Bearer)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAMESPACE_APPENDS = {
    "movie": {"account_states", "alternative_titles", "changes", "credits", "external_ids", "images", "keywords",
              "lists", "recommendations", "release_dates", "reviews", "similar", "translations", "videos",
              "watch/providers"},
    "tv": {"account_states", "aggregate_credits", "alternative_titles", "changes", "content_ratings", "credits",
           "episode_groups", "external_ids", "images", "keywords", "lists", "recommendations", "reviews",
           "screened_theatrically", "similar", "translations", "videos", "watch/providers"},
}


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status_code": code, "status_message": message, "success": False}, status_code=status,
                        headers=headers)


@dataclass
class Operation:
    operation_id: str
    template: str
    regex: re.Pattern
    parameters: list[dict]


def load_operations(spec_dir: Path = SPEC_DIR) -> list[Operation]:
    ops = []
    for f in sorted(spec_dir.glob("*.json")):
        doc = json.loads(f.read_text())
        for template, methods in doc["paths"].items():
            op = methods["get"]
            pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            ops.append(Operation(op["operationId"], template, re.compile(pattern), op.get("parameters") or []))
    return ops


def _check_value(name: str, raw: str, schema: dict) -> str | None:
    t = schema.get("type")
    if "enum" in schema and raw not in [str(e) for e in schema["enum"]]:
        return f"{name} must be one of {', '.join(map(str, schema['enum']))}"
    if t == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            return f"{name} must be an integer"
    elif t == "number":
        try:
            float(raw)
        except ValueError:
            return f"{name} must be a number"
    elif t == "boolean":
        if raw not in ("true", "false"):
            return f"{name} must be true or false"
    elif t == "string" and schema.get("format") == "date" and not _DATE.fullmatch(raw):
        return f"{name} must be a date (YYYY-MM-DD)"
    return None


def validate(op: Operation, path_params: dict[str, str], query: dict[str, list[str]]) -> str | None:
    """The reason this request breaks the operation's definition, or None."""
    declared = {p["name"]: p for p in op.parameters}
    for name, value in path_params.items():
        p = declared.get(name)
        why = _check_value(name, value, (p or {}).get("schema") or {})
        if why:
            return why
    for name, values in query.items():
        if name == "api_key":
            continue
        p = declared.get(name)
        if p is None or p.get("in") != "query":
            return f"unknown query parameter {name!r} for {op.operation_id}"
        if len(values) > 1:
            return f"{name} given {len(values)} times"
        why = _check_value(name, values[0], p.get("schema") or {})
        if why:
            return why
    for p in op.parameters:
        if p.get("required") and p.get("in") == "query" and p["name"] not in query:
            return f"{p['name']} is required"
    if "page" in query and not 1 <= int(query["page"][0]) <= 500:
        return "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer."
    if "append_to_response" in query:
        items = [i for i in query["append_to_response"][0].split(",") if i]
        namespace = op.template.split("/")[2]
        allowed = _NAMESPACE_APPENDS.get(namespace, set())
        if len(items) > 20 or any(i not in allowed for i in items):
            return f"append_to_response takes up to 20 of: {', '.join(sorted(allowed))}"
    return None


# --- the catalogue ---------------------------------------------------------------------------------------------

@dataclass
class Title:
    id: int
    media_type: str
    title: str
    release: date
    popularity: float
    vote_count: int
    vote_average: float
    genres: list[tuple[int, str]]
    countries: list[str] = field(default_factory=lambda: ["US"])
    companies: list[str] = field(default_factory=lambda: ["Warner Bros. Pictures"])
    runtime: int = 115
    budget: int = 80_000_000
    collection: bool = False
    cast: list[str] = field(default_factory=list)
    language: str = "en"
    overview: str = ""
    poster: bool = True
    backdrop: bool = True
    tv_type: str = "Scripted"
    episodes: int = 8

    def _path(self, kind: str, n: int = 1) -> str:
        return f"/{kind}{self.id}x{n}.png"

    @property
    def poster_path(self) -> str | None:
        return self._path("p") if self.poster else None

    @property
    def backdrop_path(self) -> str | None:
        return self._path("b") if self.backdrop else None

    def list_item(self, with_media_type: bool = False) -> dict[str, Any]:
        item: dict[str, Any] = {
            "adult": False, "backdrop_path": self.backdrop_path, "genre_ids": [g for g, _ in self.genres],
            "id": self.id, "original_language": self.language, "overview": self.overview,
            "popularity": self.popularity, "poster_path": self.poster_path, "vote_average": self.vote_average,
            "vote_count": self.vote_count}
        if self.media_type == "movie":
            item.update(title=self.title, original_title=self.title, release_date=self.release.isoformat(),
                        video=False)
        else:
            item.update(name=self.title, original_name=self.title, first_air_date=self.release.isoformat(),
                        origin_country=self.countries)
        if with_media_type:
            item["media_type"] = self.media_type
        return item

    def credits(self) -> dict[str, Any]:
        return {"id": self.id, "cast": [{"id": self.id * 10 + i, "name": n, "character": f"Role {i + 1}",
                                         "order": i, "known_for_department": "Acting",
                                         "profile_path": f"/c{self.id}x{i}.png"} for i, n in enumerate(self.cast)],
                "crew": []}

    def details(self, appends: list[str]) -> dict[str, Any]:
        base: dict[str, Any] = {
            "adult": False, "backdrop_path": self.backdrop_path,
            "genres": [{"id": g, "name": n} for g, n in self.genres],
            "homepage": "", "id": self.id, "original_language": self.language, "overview": self.overview,
            "popularity": self.popularity, "poster_path": self.poster_path,
            "production_companies": [{"id": i + 1, "logo_path": None, "name": c, "origin_country": "US"}
                                     for i, c in enumerate(self.companies)],
            "production_countries": [{"iso_3166_1": c, "name": c} for c in self.countries],
            "spoken_languages": [{"english_name": "English", "iso_639_1": self.language, "name": "English"}],
            "status": "Released", "tagline": "", "vote_average": self.vote_average, "vote_count": self.vote_count}
        if self.media_type == "movie":
            base.update(title=self.title, original_title=self.title, release_date=self.release.isoformat(),
                        runtime=self.runtime, budget=self.budget, revenue=0, video=False, imdb_id=f"tt{self.id}",
                        origin_country=self.countries, belongs_to_collection=(
                            {"id": self.id + 1, "name": f"{self.title} Collection", "poster_path": None,
                             "backdrop_path": None} if self.collection else None))
        else:
            base.update(name=self.title, original_name=self.title, first_air_date=self.release.isoformat(),
                        origin_country=self.countries, type=self.tv_type, number_of_episodes=self.episodes,
                        number_of_seasons=1, episode_run_time=[50], in_production=True,
                        networks=[{"id": 49, "name": self.companies[0] if self.companies else "HBO",
                                   "logo_path": None, "origin_country": "US"}])
        if "credits" in appends:
            base["credits"] = self.credits()
        if "release_dates" in appends and self.media_type == "movie":
            base["release_dates"] = self.release_dates()
        if "images" in appends:
            base["images"] = self.images()
        return base

    def release_dates(self) -> dict[str, Any]:
        return {"id": self.id, "results": [{"iso_3166_1": c, "release_dates": [
            {"certification": "PG-13", "descriptors": [], "iso_639_1": "", "note": "",
             "release_date": f"{self.release.isoformat()}T00:00:00.000Z", "type": 3}]} for c in self.countries]}

    def images(self) -> dict[str, Any]:
        def img(kind: str, n: int, w: int, h: int, lang: str | None):
            return {"aspect_ratio": round(w / h, 3), "height": h, "iso_639_1": lang, "file_path": self._path(kind, n),
                    "vote_average": 5.3 - n / 10, "vote_count": 10 - n, "width": w}
        return {"id": self.id,
                "posters": [img("p", 1, 1000, 1500, "en"), img("p", 2, 1000, 1500, None)] if self.poster else [],
                "backdrops": [img("b", 1, 1920, 1080, None), img("b", 2, 1920, 1080, "en")] if self.backdrop else [],
                "logos": [img("l", 1, 800, 300, "en")]}


_ACTION, _ADV, _SCIFI, _DRAMA = (28, "Action"), (12, "Adventure"), (878, "Science Fiction"), (18, "Drama")
_THRILLER, _MYSTERY, _ROMANCE, _HORROR = (53, "Thriller"), (9648, "Mystery"), (10749, "Romance"), (27, "Horror")
_DOC, _COMEDY, _FAMILY, _ANIM = (99, "Documentary"), (35, "Comedy"), (10751, "Family"), (16, "Animation")
_TV_DRAMA, _TV_SCIFI, _REALITY = (18, "Drama"), (10765, "Sci-Fi & Fantasy"), (10764, "Reality")


def _tid(name: str, media_type: str) -> int:
    digest = hashlib.sha1(f"{media_type}:{name}".encode(), usedforsecurity=False).hexdigest()
    return 900_000 + int(digest[:6], 16) % 90_000


def build_catalogue(today: date) -> list[Title]:
    def movie(name, release, pop, votes, avg, genres, **kw):
        return Title(_tid(name, "movie"), "movie", name, release, pop, votes, avg, genres, **kw)

    def tv(name, release, pop, votes, avg, genres, **kw):
        return Title(_tid(name, "tv"), "tv", name, release, pop, votes, avg, genres, **kw)

    def years_back(n: int) -> date:
        from shared.tmdb.modules import years_ago

        got = years_ago(today, n)
        return got[0] if got else today.replace(year=today.year - n, day=28)

    nm = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return [
        # releasing today
        movie("Skyline Protocol", today, 180.0, 850, 7.4, [_ACTION, _SCIFI], collection=True,
              cast=["Ava Stone", "Marcus Lee", "Ines Duarte"], overview="A pilot races to stop a satellite war."),
        movie("The Last Orchard", today, 95.0, 320, 7.1, [_DRAMA, _ROMANCE], companies=["A24"],
              cast=["Nora Quinn", "Theo Brandt"], overview="Two rivals inherit a failing farm."),
        movie("Midnight Harbor", today, 62.0, 410, 6.8, [_THRILLER, _MYSTERY], companies=["Universal Pictures"],
              cast=["Owen Pike", "Lena Ruiz"], overview="A harbor pilot finds a ship with no crew."),
        movie("Paper Moons", today, 70.0, 500, 7.5, [_DOC], companies=["Netflix"],
              overview="The story of a space race."),
        movie("Le Dernier Train", today, 80.0, 600, 7.0, [_DRAMA], countries=["FR"], language="fr",
              companies=["Gaumont"], overview="Un train, une nuit."),
        movie("Quiet Streets", today, 12.0, 40, 6.0, [_DRAMA], overview="A small-town drama."),
        movie("Nebula Run", today, 77.0, 300, 6.9, [_SCIFI], backdrop=False, overview="Smugglers outrun a star."),
        tv("Harborline", today, 88.0, 150, 7.8, [_TV_DRAMA], companies=["HBO"], episodes=8,
           cast=["Iris Vale", "Sam Okafor"], overview="A coastal town keeps a secret."),
        tv("Real Homes Live", today, 55.0, 90, 5.5, [_REALITY], tv_type="Reality", overview="Homes, live."),
        # this week
        movie("Iron Meridian", today + timedelta(days=3), 140.0, 0, 0.0, [_ACTION, _ADV],
              companies=["Marvel Studios"], cast=["Jon Hale", "Priya Nair", "Leo Grant"],
              overview="An engineer builds a suit to stop a war."),
        movie("Cold Frontier", today + timedelta(days=5), 75.0, 0, 0.0, [_THRILLER], companies=["Paramount Pictures"],
              cast=["Kate Moreno"], overview="A border guard uncovers a plot."),
        tv("Small Town Ghosts", today + timedelta(days=4), 66.0, 0, 0.0, [_TV_SCIFI], companies=["Netflix"],
           episodes=10, cast=["Mia Torres", "Ben Ashe"], overview="Teenagers hunt the ghosts of their town."),
        movie("Indie Hearts", today + timedelta(days=2), 58.0, 0, 0.0, [_COMEDY, _ROMANCE], companies=["Neon"],
              overview="An indie festival darling about two musicians."),
        # next month
        movie("Solar Drift", nm + timedelta(days=10), 120.0, 0, 0.0, [_ANIM, _FAMILY, _ADV],
              companies=["Walt Disney Pictures", "Pixar"], cast=["Voice One", "Voice Two"],
              overview="A robot drifts toward the sun."),
        movie("The Gilded Cage", nm + timedelta(days=14), 64.0, 0, 0.0, [_HORROR], companies=["Lionsgate"],
              cast=["Eve Marsh"], overview="A mansion that does not let go."),
        tv("Kingdom of Ash", nm + timedelta(days=20), 90.0, 0, 0.0, [_TV_DRAMA, _TV_SCIFI],
           companies=["Amazon Studios"], episodes=9, cast=["Rhea Cole", "Tom Vance"], overview="Rival heirs."),
        movie("Short Cuts Vol. 2", nm + timedelta(days=12), 66.0, 0, 0.0, [_COMEDY], runtime=40,
              companies=["Universal Pictures"], overview="Sketches."),
        # anniversaries today
        movie("Echo Canyon", years_back(10), 45.0, 5200, 7.6, [_ACTION, _THRILLER], budget=60_000_000,
              cast=["Grant Hollis", "Maya Chen"], overview="A canyon rescue goes wrong."),
        movie("Steel Horizon", years_back(20), 52.0, 8100, 7.9, [_SCIFI, _ADV], budget=120_000_000,
              collection=True, cast=["Dana Cross", "Victor Hale"], overview="Colonists face a dying star."),
        movie("Crimson Tide Rising", years_back(3), 40.0, 2100, 7.0, [_ACTION], budget=90_000_000,
              cast=["Alex Ward"], overview="A submarine crew mutinies."),
        movie("Glass City", years_back(5), 38.0, 900, 7.2, [_DRAMA], overview="A city of mirrors."),
        movie("Bright Lights", years_back(15), 35.0, 3000, 6.1, [_COMEDY], overview="A comedian's last show."),
        movie("Afterglow", years_back(1), 48.0, 1500, 7.0, [_ROMANCE, _DRAMA], budget=5_000_000,
              overview="Two strangers after a blackout."),
    ]


def png(width: int = 4, height: int = 6) -> bytes:
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


_NATIVE = {"p": (1000, 1500), "b": (1920, 1080), "l": (800, 300)}  # what Title.images() says each kind measures


@functools.lru_cache(maxsize=64)
def _png_of(width: int, height: int) -> bytes:
    return png(width, height)


def sized_png(size: str, file: str) -> bytes:
    """An image as large as TMDb's would be at that size (https://developer.themoviedb.org/docs/image-basics:
    `w<N>` scales to N pixels wide, `h<N>` to N high, `original` is the upload), so size checks downstream see
    real dimensions. Unknown kinds (profiles) stay tiny."""
    native = _NATIVE.get(file[:1])
    if native is None:
        return _png_of(4, 6)
    w, h = native
    if size.startswith("w") and size[1:].isdigit():
        w, h = int(size[1:]), round(h * int(size[1:]) / w)
    elif size.startswith("h") and size[1:].isdigit():
        w, h = round(w * int(size[1:]) / h), int(size[1:])
    return _png_of(w, h)


class FakeTMDb:
    def __init__(self, today: date, *, key: str = FAKE_KEY, token: str = FAKE_TOKEN, rate_limit: int | None = None,
                 rate_window: float = 10.0):
        self.today = today
        self.key, self.token = key, token
        self.rate_limit = rate_limit  # requests per `rate_window` seconds before 429 (None: no limit)
        self.rate_window = rate_window
        self.failing: set[str] = set()  # operation ids answered with 503 (an outage)
        self.catalogue = build_catalogue(today)
        self.operations = load_operations()
        self.requests: list[dict[str, Any]] = []  # every accepted request: {op, path, query}
        self.refusals: list[dict[str, Any]] = []  # every refused one, with the reason
        self._times: list[float] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/3/{rest:path}", self._api, methods=["GET"]),
                                     Route("/t/p/{size}/{file}", self._image, methods=["GET"])])

    # --- bookkeeping ---
    def count(self, operation_id: str | None = None) -> int:
        return sum(1 for r in self.requests if operation_id is None or r["op"] == operation_id)

    def reset_counts(self) -> None:
        self.requests.clear()
        self.refusals.clear()

    def by_id(self, media_type: str, tmdb_id: int) -> Title | None:
        return next((t for t in self.catalogue if t.media_type == media_type and t.id == tmdb_id), None)

    # --- HTTP ---
    def _refuse(self, request: Request, status: int, code: int, why: str, headers=None) -> JSONResponse:
        with self._lock:
            self.refusals.append({"path": request.url.path, "query": str(request.url.query), "status": status,
                                  "why": why})
        return _error(status, code, why, headers)

    async def _api(self, request: Request):
        query: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            query.setdefault(k, []).append(v)
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.token}" and query.get("api_key") != [self.key]:
            return self._refuse(request, 401, 7, "Invalid API key: You must be granted a valid key.")
        if self.rate_limit:
            now = time.monotonic()
            with self._lock:
                self._times = [t for t in self._times if t > now - self.rate_window]
                over = len(self._times) >= self.rate_limit
                if not over:
                    self._times.append(now)
            if over:
                return self._refuse(request, 429, 25, f"Your request count is over the allowed limit of "
                                    f"({self.rate_limit}).", {"Retry-After": "1"})
        path = request.url.path
        for op in self.operations:
            m = op.regex.match(path)
            if m:
                if op.operation_id in self.failing:
                    return self._refuse(request, 503, 9, "Service offline.")
                why = validate(op, m.groupdict(), query)
                if why:
                    return self._refuse(request, 400 if "Invalid page" not in why else 422, 22,
                                        f"Invalid parameters: {why}")
                with self._lock:
                    self.requests.append({"op": op.operation_id, "path": path,
                                          "query": {k: v[0] for k, v in query.items() if k != "api_key"}})
                answer = self._answer(op.operation_id, m.groupdict(), {k: v[0] for k, v in query.items()})
                if answer is None:
                    return self._refuse(request, 404, 34, "The resource you requested could not be found.")
                return JSONResponse(answer)
        return self._refuse(request, 404, 34, "The resource you requested could not be found.")

    async def _image(self, request: Request):
        return Response(sized_png(request.path_params["size"], request.path_params["file"]), media_type="image/png")

    # --- answers ---
    def _page(self, items: list[dict], query: dict[str, str], extra: dict | None = None) -> dict:
        page = int(query.get("page", "1"))
        out = {"page": page, "results": items[(page - 1) * 20: page * 20],
               "total_pages": max(1, (len(items) + 19) // 20), "total_results": len(items)}
        return {**(extra or {}), **out}

    def _discover(self, media_type: str, q: dict[str, str]) -> dict:
        lo_key, hi_key = (("primary_release_date.gte", "primary_release_date.lte") if media_type == "movie"
                          else ("first_air_date.gte", "first_air_date.lte"))
        lo = date.fromisoformat(q[lo_key]) if lo_key in q else date.min
        hi = date.fromisoformat(q[hi_key]) if hi_key in q else date.max
        found = [t for t in self.catalogue if t.media_type == media_type and lo <= t.release <= hi]
        if q.get("with_original_language"):
            found = [t for t in found if t.language == q["with_original_language"]]
        if q.get("with_genres"):
            raw = q["with_genres"]
            wanted = {int(g) for g in re.split(r"[|,]", raw) if g}
            # TMDb: a pipe is OR, a comma AND (https://developer.themoviedb.org/reference/discover-movie)
            if "," in raw:
                found = [t for t in found if wanted <= {g for g, _ in t.genres}]
            else:
                found = [t for t in found if wanted & {g for g, _ in t.genres}]
        if q.get("with_origin_country"):
            found = [t for t in found if q["with_origin_country"] in t.countries]
        if "vote_count.gte" in q:
            found = [t for t in found if t.vote_count >= float(q["vote_count.gte"])]
        found.sort(key=lambda t: -t.popularity)
        return self._page([t.list_item() for t in found], q)

    def _answer(self, op: str, path: dict[str, str], q: dict[str, str]) -> dict | None:
        if op == "discover-movie":
            return self._discover("movie", q)
        if op == "discover-tv":
            return self._discover("tv", q)
        if op in ("movie-details", "tv-series-details", "movie-release-dates", "movie-images", "tv-series-images"):
            media = "movie" if op.startswith("movie") else "tv"
            t = self.by_id(media, int(path.get("movie_id") or path.get("series_id") or 0))
            if t is None:
                return None
            if op.endswith("details"):
                return t.details([a for a in q.get("append_to_response", "").split(",") if a])
            if op == "movie-release-dates":
                return t.release_dates()
            return t.images()
        if op == "trending-all":
            trending = sorted(self.catalogue, key=lambda t: -t.popularity)
            return self._page([t.list_item(with_media_type=True) for t in trending], q)
        if op == "movie-upcoming-list":
            upcoming = sorted((t for t in self.catalogue if t.media_type == "movie"
                               and self.today <= t.release <= self.today + timedelta(days=45)),
                              key=lambda t: -t.popularity)
            return self._page([t.list_item() for t in upcoming], q, {"dates": {
                "maximum": (self.today + timedelta(days=45)).isoformat(), "minimum": self.today.isoformat()}})
        if op == "search-multi":
            needle = q.get("query", "").strip().lower()
            items: list[dict] = [t.list_item(with_media_type=True) for t in self.catalogue if needle in t.title.lower()]
            people = {n for t in self.catalogue for n in t.cast if needle in n.lower()}
            items += [{"adult": False, "id": _tid(n, "person"), "name": n, "original_name": n, "media_type": "person",
                       "popularity": 10.0, "gender": 0, "known_for_department": "Acting",
                       "profile_path": f"/c{_tid(n, 'person')}.png"} for n in sorted(people)]
            return self._page(items, q)
        return None


def start(today: date | None = None, **kwargs) -> tuple[FakeTMDb, Any]:
    """Serve a fake on a free port in a thread: (fake, server thread with .url and .stop())."""
    from shared.local.services import ServerThread

    fake = FakeTMDb(today or date.today(), **kwargs)
    return fake, ServerThread(fake.app).start()
