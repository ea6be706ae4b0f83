"""TMDb API v3 over httpx: discover, details (+ credits, release dates), images, lists, search.

- Credential: the `tmdbKey` setting, else TMDB_API_KEY. A v4 "API Read Access Token" (a JWT) goes in
  `Authorization: Bearer`; a v3 API key goes in the `api_key` query parameter
  (https://developer.themoviedb.org/docs/authentication-application).
- Every request: the Redis response cache first (cache.py), then the shared rate limiter (ratelimit.py), then
  TMDb. Each HTTP attempt is counted (`tmdb.calls`).
- 429: wait `Retry-After` (capped) and try again, up to 4 attempts; 5xx and network errors: back off 0.5/1/2 s
  (GETs are safe to repeat); 401 and 404 are final (a bad key, a title TMDb removed).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.errors import UpstreamError, ValidationFailed
from shared.tmdb.cache import ResponseCache, request_key
from shared.tmdb.ratelimit import Budget, SharedLimiter
from shared.usage.meter import count

log = logging.getLogger("screndly.tmdb.client")

MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 15.0
RETRY_BASE_SECONDS = 0.5  # back-off after a 5xx or a network error: 0.5, 1, 2 s


class TMDbError(UpstreamError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message, details={"status": status} if status else None)
        self.status = status


class TMDbNotConfigured(ValidationFailed):
    """No TMDb credential: the owner sets `tmdbKey` in Settings (or TMDB_API_KEY)."""


@dataclass(frozen=True)
class Req:
    path: str  # e.g. "/3/discover/movie"
    params: tuple[tuple[str, str], ...] = ()
    kind: str = "metadata"  # metadata | images (cache lifetime)

    @classmethod
    def of(cls, path: str, kind: str = "metadata", **params: Any) -> Req:
        clean = {k.replace("__", "."): v for k, v in params.items() if v is not None and v != ""}
        return cls(path, tuple(sorted((k, _q(v)) for k, v in clean.items())), kind)

    @property
    def cache_key(self) -> str:
        return request_key(self.path, dict(self.params))


def _q(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@dataclass
class Stats:
    calls: int = 0  # HTTP attempts sent to TMDb
    cache_hits: int = 0
    rate_limited: int = 0  # 429 answers
    by_path: dict[str, int] = field(default_factory=dict)


def is_bearer(credential: str) -> bool:
    return "." in credential or len(credential) > 40


class TMDbClient:
    def __init__(self, credential: str, *, base: str | None = None, http: httpx.AsyncClient | None = None,
                 limiter: SharedLimiter | None = None, cache: ResponseCache | None = None,
                 concurrency: int | None = None, ttl: dict[str, int] | None = None, timeout: float | None = None):
        from shared.config import get_config

        cfg = get_config()
        if not credential:
            raise TMDbNotConfigured("TMDb is not configured: add your TMDb API key (tmdbKey) in Settings")
        self.credential = credential
        self.base = (base or cfg.tmdb_api_base).rstrip("/")
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout or cfg.tmdb_timeout_seconds,
                                              headers={"Accept": "application/json", "User-Agent": "Screndly/1.0"})
        self.limiter = limiter or SharedLimiter(Budget(cfg.tmdb_rate_limit, cfg.tmdb_rate_window_seconds))
        self.cache = cache or ResponseCache()
        self.ttl = ttl or {"metadata": cfg.tmdb_metadata_cache_seconds, "images": cfg.tmdb_images_cache_seconds}
        self._sem = asyncio.Semaphore(concurrency or cfg.tmdb_concurrency)
        self.stats = Stats()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> TMDbClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # --- one request ------------------------------------------------------------------------------------
    def _auth(self, params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        if is_bearer(self.credential):
            return params, {"Authorization": f"Bearer {self.credential}"}
        return {**params, "api_key": self.credential}, {}

    async def _fetch(self, req: Req) -> Any:
        params, headers = self._auth(dict(req.params))
        delay = RETRY_BASE_SECONDS
        last: Exception | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            async with self._sem:
                self.stats.calls += 1
                self.stats.by_path[req.path] = self.stats.by_path.get(req.path, 0) + 1
                count("tmdb.calls")
                try:
                    resp = await self.http.get(self.base + req.path, params=params, headers=headers)
                except httpx.HTTPError as exc:
                    last = TMDbError(f"TMDb unreachable: {type(exc).__name__}")
                    resp = None
            if resp is not None:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        last = TMDbError("TMDb answered with something that is not JSON", 200)
                elif resp.status_code == 429:
                    self.stats.rate_limited += 1
                    wait = _retry_after(resp.headers.get("retry-after"), delay)
                    last = TMDbError("TMDb rate limit reached (429)", 429)
                    if attempt < MAX_ATTEMPTS:
                        await asyncio.sleep(wait)
                        continue
                    break
                elif resp.status_code == 401:
                    raise TMDbError("TMDb rejected the API key (401): check tmdbKey in Settings", 401)
                elif resp.status_code == 404:
                    raise TMDbError(f"TMDb has no {req.path} (404)", 404)
                elif resp.status_code < 500:
                    raise TMDbError(f"TMDb refused {req.path} ({resp.status_code}): {_message(resp)}",
                                    resp.status_code)
                else:
                    last = TMDbError(f"TMDb error {resp.status_code}", resp.status_code)
            if attempt < MAX_ATTEMPTS:
                await asyncio.sleep(delay)
                delay *= 2
        raise last or TMDbError("TMDb request failed")

    # --- batches ----------------------------------------------------------------------------------------
    async def get_many(self, reqs: list[Req]) -> list[Any]:
        """Answers in order; a failed request's slot holds its TMDbError (the caller decides)."""
        if not reqs:
            return []
        unique = list(dict.fromkeys(reqs))
        cached = await asyncio.to_thread(self.cache.get_many, [r.cache_key for r in unique])
        answers: dict[Req, Any] = {}
        misses = []
        for r, hit in zip(unique, cached):
            if hit is not None:
                answers[r] = hit
                self.stats.cache_hits += 1
            else:
                misses.append(r)
        chunk = max(1, self.limiter.budget.capacity)
        for i in range(0, len(misses), chunk):
            part = misses[i:i + chunk]
            await self.limiter.acquire(len(part))
            results = await asyncio.gather(*(self._fetch(r) for r in part), return_exceptions=True)
            store: dict[str, dict[str, Any]] = {}
            for r, res in zip(part, results):
                if isinstance(res, BaseException) and not isinstance(res, Exception):
                    raise res
                answers[r] = res
                if not isinstance(res, Exception):
                    store.setdefault(r.kind, {})[r.cache_key] = res
            for kind, items in store.items():
                await asyncio.to_thread(self.cache.put_many, items, self.ttl.get(kind, 0))
        return [answers[r] for r in reqs]

    async def get(self, req: Req) -> Any:
        res = (await self.get_many([req]))[0]
        if isinstance(res, Exception):
            raise res
        return res

    # --- the endpoints Screndly uses (definitions: tests/contracts/tmdb/) ------------------------------------
    @staticmethod
    def discover(media_type: str, **params: Any) -> Req:
        return Req.of(f"/3/discover/{media_type}", **params)

    @staticmethod
    def details(media_type: str, tmdb_id: int, language: str = "en-US") -> Req:
        extra = "credits,release_dates" if media_type == "movie" else "credits"
        return Req.of(f"/3/{media_type}/{int(tmdb_id)}", append_to_response=extra, language=language)

    @staticmethod
    def images(media_type: str, tmdb_id: int, languages: str = "en,null") -> Req:
        return Req.of(f"/3/{media_type}/{int(tmdb_id)}/images", kind="images", include_image_language=languages)

    @staticmethod
    def trending(page: int, window: str = "week", language: str = "en-US") -> Req:
        return Req.of(f"/3/trending/all/{window}", language=language, page=page)

    @staticmethod
    def upcoming(page: int, region: str = "US", language: str = "en-US") -> Req:
        return Req.of("/3/movie/upcoming", language=language, page=page, region=region)

    @staticmethod
    def search(query: str, page: int = 1, language: str = "en-US") -> Req:
        return Req.of("/3/search/multi", query=query, include_adult=False, language=language, page=page)


def _retry_after(value: str | None, fallback: float) -> float:
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER)) if value else fallback
    except ValueError:
        return fallback


def _message(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("status_message") or "")[:200]
    except ValueError:
        return resp.text[:200]


def credential(settings: dict[str, Any] | None = None) -> str:
    """The owner's tmdbKey, else TMDB_API_KEY."""
    from shared.config import get_config

    key = str((settings or {}).get("tmdbKey") or "").strip()
    return key or get_config().tmdb_api_key.strip()
