"""The TMDb settings a refresh runs with (pure): the owner's stored settings, overridden by the `settings` object
the TMDb page sends with `POST /api/tmdb/refresh` (frontend-contract §1.5, §4.2).

Numbers arrive as numbers or numeric strings ('5'); anything unreadable falls back to the contract's default, so a
half-filled settings page never stops a refresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.tmdb.modules import MODULES

# frontend-contract §4.2 (TMDb) defaults
DEFAULT_MAX_ITEMS = {"today": 5, "weekly": 10, "monthly": 30, "anniversary": 5}
ENABLE_KEY = {"today": "enableToday", "weekly": "enableWeekly", "monthly": "enableMonthly",
              "anniversary": "enableAnniversaries"}
PLATFORM_KEYS = ("x", "threads", "facebook", "youtube", "pinterest")
DISPLAY = {"x": "X", "threads": "Threads", "facebook": "Facebook", "youtube": "YouTube", "pinterest": "Pinterest"}
DEFAULT_QUOTAS = {"x": 50, "threads": 100, "facebook": 25, "pinterest": 100, "youtube": 10}

# every settings key a refresh reads
SETTING_KEYS = (
    "timezone", "tmdbKey", "openaiKey", "tmdbCaptionModel", "openaiModel", "tmdbCaptionTemperature",
    *ENABLE_KEY.values(), *(f"{m}MaxItems" for m in ("today", "weekly", "monthly", "anniversary")),
    "anniversaryYears", "anniversaryStartYear", "maxPerAnniversary", "captionMaxLength", "includeCast",
    "includeDate", "preferredImage", "rehostImages", "dedupeWindow", "movieGenres", "tvGenres", "selectedGenres",
    "onlyPopular", "languageFilter", *(f"{m}AutoPost" for m in MODULES), *(f"{m}Platforms" for m in MODULES),
    *(f"{m}Prompt" for m in MODULES), "dailyQuotaX", "dailyQuotaThreads", "dailyQuotaFacebook",
    "dailyQuotaPinterest", "quietHoursEnabled", "quietHoursStart", "quietHoursEnd", "tmdbLogLevel",
)


def _int(v: Any, default: int, lo: int | None = None, hi: int | None = None) -> int:
    try:
        n = int(float(v))
    except (TypeError, ValueError):
        return default
    if lo is not None:
        n = max(lo, n)
    if hi is not None:
        n = min(hi, n)
    return n


def _float(v: Any, default: float) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def _bool(v: Any, default: bool) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    return default


def _int_list(v: Any) -> list[int]:
    if isinstance(v, str):
        v = [p for p in v.replace(";", ",").split(",") if p.strip()]
    out = []
    for x in v or []:
        try:
            out.append(int(float(x)))
        except (TypeError, ValueError):
            continue
    return out


def zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class TMDbSettings:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Africa/Lagos"))
    enabled: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(MODULES, True))
    max_items: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_ITEMS))
    anniversary_years: tuple[int, ...] = (1, 2, 3, 5, 10, 15, 20, 25)
    anniversary_start_year: int | None = 1995
    max_per_anniversary: int = 2
    caption_max_length: int = 100
    include_cast: bool = True
    include_date: bool = True
    preferred_image: str = "poster"  # poster | backdrop | random
    rehost_images: bool = True
    dedupe_window_days: int = 30
    genres: tuple[int, ...] = ()  # selectedGenres (+ movieGenres/tvGenres): at least one must match when set
    only_popular: bool = True
    language: str = "en"  # '' / 'all': any original language
    auto_post: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(MODULES, False))
    platforms: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        m: ("x",) if m == "anniversary" else ("x", "threads") for m in MODULES})
    prompts: dict[str, str] = field(default_factory=lambda: dict.fromkeys(MODULES, ""))
    caption_model: str = "gpt-5.4-nano"
    caption_temperature: float = 0.7
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    quiet_enabled: bool = True
    quiet_start: int = 0
    quiet_end: int = 7
    log_level: str = "standard"  # minimal | standard | full

    @classmethod
    def from_settings(cls, s: dict[str, Any], overrides: dict[str, Any] | None = None) -> TMDbSettings:
        s = {**s, **{k: v for k, v in (overrides or {}).items() if v is not None}}
        d = cls()
        enabled = {m: _bool(s.get(ENABLE_KEY[m]), True) for m in MODULES}
        max_items = {m: _int(s.get(f"{m}MaxItems"), DEFAULT_MAX_ITEMS[m], 0, 50) for m in MODULES}
        years = tuple(sorted({y for y in _int_list(s.get("anniversaryYears")) if 0 < y <= 150})) or d.anniversary_years
        start = s.get("anniversaryStartYear", d.anniversary_start_year)
        start_year = _int(start, 0) or None if start not in (None, "") else None
        genres = tuple(sorted(set(_int_list(s.get("selectedGenres")) + _int_list(s.get("movieGenres"))
                                  + _int_list(s.get("tvGenres")))))
        platforms: dict[str, tuple[str, ...]] = {}
        for m in MODULES:
            flags = s.get(f"{m}Platforms")
            if isinstance(flags, dict):
                platforms[m] = tuple(p for p in PLATFORM_KEYS if _bool(flags.get(p), False))
            elif isinstance(flags, list):
                platforms[m] = tuple(p for p in PLATFORM_KEYS if p in {str(x).lower() for x in flags})
            else:
                platforms[m] = d.platforms[m]
        language = str(s.get("languageFilter") if s.get("languageFilter") is not None else "en").strip().lower()
        preferred = str(s.get("preferredImage") or "poster").lower()
        model = str(s.get("tmdbCaptionModel") or s.get("openaiModel") or d.caption_model)
        quotas = {"x": _int(s.get("dailyQuotaX"), 50, 0), "threads": _int(s.get("dailyQuotaThreads"), 100, 0),
                  "facebook": _int(s.get("dailyQuotaFacebook"), 25, 0),
                  "pinterest": _int(s.get("dailyQuotaPinterest"), 100, 0), "youtube": 10}
        level = str(s.get("tmdbLogLevel") or "standard").lower()
        return cls(
            tz=zone(s.get("timezone") or "Africa/Lagos"), enabled=enabled, max_items=max_items,
            anniversary_years=years, anniversary_start_year=start_year,
            max_per_anniversary=_int(s.get("maxPerAnniversary"), 2, 1, 50),
            caption_max_length=_int(s.get("captionMaxLength"), 100, 20, 500),
            include_cast=_bool(s.get("includeCast"), True), include_date=_bool(s.get("includeDate"), True),
            preferred_image=preferred if preferred in ("poster", "backdrop", "random") else "poster",
            rehost_images=_bool(s.get("rehostImages"), True),
            dedupe_window_days=_int(s.get("dedupeWindow"), 30, 0, 365), genres=genres,
            only_popular=_bool(s.get("onlyPopular"), True),
            language="" if language in ("", "all", "any", "*") else language,
            auto_post={m: _bool(s.get(f"{m}AutoPost"), False) for m in MODULES}, platforms=platforms,
            prompts={m: str(s.get(f"{m}Prompt") or "") for m in MODULES}, caption_model=model,
            caption_temperature=_float(s.get("tmdbCaptionTemperature"), 0.7), quotas=quotas,
            quiet_enabled=_bool(s.get("quietHoursEnabled"), True),
            quiet_start=_int(s.get("quietHoursStart"), 0) % 24, quiet_end=_int(s.get("quietHoursEnd"), 7) % 24,
            log_level=level if level in ("minimal", "standard", "full") else "standard",
        )
