"""Captions with the owner's settings: OpenAI chat completions when an `openaiKey` is set (model
`tmdbCaptionModel`, the module's prompt), cached in Postgres by everything that shapes the caption
(`captionCacheTTL` days, `cacheHit` on the post), and the template caption otherwise or when OpenAI fails.
Every caption is fitted to all of the post's platforms (captions.fit).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from shared.tmdb import captions

log = logging.getLogger("screndly.tmdb.captions")


@dataclass(frozen=True)
class CaptionJob:
    ctx: captions.CaptionContext
    platforms: tuple[str, ...]
    max_length: int
    model: str
    prompt: str = ""
    temperature: float = 0.7


@dataclass(frozen=True)
class Caption:
    text: str
    source: str  # ai | ai_cached | template | template_fallback
    cache_hit: bool
    error: str | None = None


def _cache_get(key: str) -> str | None:
    from shared.db import connection

    with connection() as c:
        row = c.execute("SELECT caption FROM tmdb_caption_cache WHERE content_hash = %s", (key,)).fetchone()
    return row["caption"] if row else None


def _cache_put(key: str, text: str, model: str) -> None:
    from shared.db import connection

    with connection() as c:
        c.execute("INSERT INTO tmdb_caption_cache (content_hash, caption, model) VALUES (%s, %s, %s) "
                  "ON CONFLICT (content_hash) DO NOTHING", (key, text, model))


async def _one(client, api_key: str, job: CaptionJob, sem: asyncio.Semaphore) -> Caption:
    from shared.ai.openai_chat import OpenAIError, chat
    from shared.usage.meter import count

    key = captions.cache_key(job.ctx, model=job.model, prompt=job.prompt, temperature=job.temperature,
                             max_length=job.max_length, platforms=job.platforms)
    cached = await asyncio.to_thread(_cache_get, key)
    if cached:
        return Caption(captions.fit(cached, job.platforms, job.max_length), "ai_cached", True)
    try:
        async with sem:
            result = await chat(client, api_key, model=job.model, temperature=job.temperature, max_tokens=200,
                                messages=captions.build_messages(job.ctx, max_length=job.max_length,
                                                                 prompt=job.prompt))
        count("openai.tokens", result.prompt_tokens + result.completion_tokens)
        text = captions.clean_ai_text(result.content)
        if not text:
            raise OpenAIError("OpenAI returned an empty caption")
    except OpenAIError as exc:
        log.warning("AI caption failed for %s: %s", job.ctx.title, exc)
        return Caption(captions.template_caption(job.ctx, job.platforms, job.max_length), "template_fallback", False,
                       str(exc))
    await asyncio.to_thread(_cache_put, key, text, job.model)
    return Caption(captions.fit(text, job.platforms, job.max_length), "ai", False)


async def generate_many(jobs: list[CaptionJob], api_key: str | None) -> list[Caption]:
    if not api_key:
        return [Caption(captions.template_caption(j.ctx, j.platforms, j.max_length), "template", False) for j in jobs]
    import httpx

    sem = asyncio.Semaphore(4)
    async with httpx.AsyncClient() as client:
        return list(await asyncio.gather(*(_one(client, api_key, j, sem) for j in jobs)))


def generate(job: CaptionJob, api_key: str | None, *, strict: bool = False) -> Caption:
    """One caption (the /api/ai/generate/tmdb-caption route). `strict`: an OpenAI failure raises instead of
    falling back to the template."""
    cap = asyncio.run(generate_many([job], api_key))[0]
    if strict and cap.source == "template_fallback":
        from shared.errors import UpstreamError

        raise UpstreamError(cap.error or "OpenAI failed")
    return cap
