"""The tmdb-caption endpoint's logic: the owner's caption settings, the request's overrides, AI with a key and
the template without one. An OpenAI failure is the caller's to see (502), not silently replaced: the TMDb page
asked for an AI caption and falls back on its own."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.errors import ValidationFailed
from shared.rss.textlength import caption_length
from shared.tmdb import captions
from shared.tmdb.caption_service import CaptionJob, generate
from shared.tmdb.modules import MODULES, TEMPORAL_TAG
from shared.tmdb.repo import platform_key

_MODULE_OF_TAG = {v: k for k, v in TEMPORAL_TAG.items()}


def generate_tmdb_caption(req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from shared.settings.store import read_settings

    try:
        tag = captions.normalize_tag(req["temporalTag"])
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={"field": "temporalTag"}) from exc
    if tag == "anniversary" and not req.get("anniversaryYears"):
        raise ValidationFailed("an anniversary caption needs anniversaryYears", details={"field": "anniversaryYears"})
    platform = platform_key(req.get("platform") or "x") if req.get("platform") else "x"
    if platform is None:
        raise ValidationFailed(f"unknown platform {req.get('platform')!r}", details={"field": "platform"})
    module = _MODULE_OF_TAG[tag]
    s = read_settings(["openaiKey", "tmdbCaptionModel", "openaiModel", "tmdbCaptionTemperature", "captionMaxLength",
                       "includeCast", "includeDate", *(f"{m}Prompt" for m in MODULES)])
    try:
        max_length = int(req.get("maxLength") or s.get("captionMaxLength") or 100)
    except (TypeError, ValueError):
        max_length = 100
    try:
        temperature = float(s.get("tmdbCaptionTemperature", 0.7))
    except (TypeError, ValueError):
        temperature = 0.7
    release = None
    if req.get("releaseDate"):
        try:
            release = date.fromisoformat(str(req["releaseDate"])[:10])
        except ValueError as exc:
            raise ValidationFailed("releaseDate must be YYYY-MM-DD", details={"field": "releaseDate"}) from exc
    ctx = captions.CaptionContext(
        title=req["title"], media_type=req.get("mediaType") or "movie", tag=tag,
        days_until=int(req.get("daysUntil") or 0),
        release_date=release, anniversary_years=req.get("anniversaryYears"), cast=tuple(req.get("cast") or ()),
        genres=tuple(req.get("genres") or ()), include_cast=bool(s.get("includeCast", True)),
        include_date=bool(s.get("includeDate", True)))
    job = CaptionJob(ctx=ctx, platforms=(platform,), max_length=max_length,
                     model=req.get("model") or s.get("tmdbCaptionModel") or s.get("openaiModel") or "gpt-5.4-nano",
                     prompt=req.get("customSystemPrompt") or s.get(f"{module}Prompt") or "", temperature=temperature)
    cap = generate(job, s.get("openaiKey") or None, strict=True)
    return cap.text, {"source": cap.source, "cacheHit": cap.cache_hit, "temporalTag": tag, "platform": platform,
                      "charCount": caption_length(cap.text, platform), "maxLength": max_length,
                      **({"model": job.model} if cap.source.startswith("ai") else {})}
