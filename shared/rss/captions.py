"""Captions for an item: a template that always works, and an AI caption when an OpenAI key is set.

The AI caption is cached in Postgres by a hash of everything that shapes it (title, summary, feed, platform,
model, tone, prompt, temperature, max length): the same article never pays twice, and Postgres (already awake
for the pipeline) costs nothing extra where a Redis cache would cost 2 commands per item. Every caption is fitted
to the platform's own length rule (`textlength.shorten`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from shared.rss.identity import normalise_title
from shared.rss.textlength import caption_length, limit_for, shorten
from shared.rss.textutil import strip_html, summarize

TONES = ("Engaging", "Professional", "Casual", "Informative", "Exciting", "Mysterious")
_HASHTAG_STOP = frozenset({"the", "a", "an", "and", "of", "to", "in", "on", "for", "with", "at", "by", "is",
                           "are", "its", "it", "new", "first", "gets", "get", "from", "as", "be", "this", "that",
                           "will", "has", "have", "after", "about", "into", "out", "up", "over", "who", "what",
                           "why", "how", "you", "your", "part"})
_KEYWORD_TAGS = {"trailer": "Trailer", "teaser": "Teaser", "netflix": "Netflix", "marvel": "Marvel",
                 "boxoffice": "BoxOffice", "oscars": "Oscars", "hbo": "HBO", "disney": "Disney"}


@dataclass(frozen=True)
class CaptionSettings:
    model: str = "gpt-5.4-nano"
    tone: str = "Engaging"
    prompt: str = ""
    temperature: float = 0.7
    max_length: int = 280

    @classmethod
    def from_settings(cls, s: dict) -> CaptionSettings:
        try:
            max_len = int(s.get("rssCaptionMaxLength") or 280)
        except (TypeError, ValueError):
            max_len = 280
        try:
            temp = float(s.get("rssCaptionTemperature", 0.7))
        except (TypeError, ValueError):
            temp = 0.7
        return cls(model=str(s.get("rssCaptionModel") or "gpt-5.4-nano"), tone=str(s.get("rssCaptionTone") or
                                                                                   "Engaging"),
                   prompt=str(s.get("rssCaptionPrompt") or ""), temperature=temp, max_length=max(40, max_len))


def hashtags_from_title(title: str, limit: int = 2) -> list[str]:
    """Up to `limit` hashtags: known topic words first, then the longest capitalised words of the title."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9']+", title)
    tags: list[str] = []
    lower = {w.lower().replace("'", "") for w in words}
    for key, tag in _KEYWORD_TAGS.items():
        if key in lower and tag not in tags:
            tags.append(tag)
    caps = [w.replace("'", "") for w in words if w[0].isupper() and w.lower() not in _HASHTAG_STOP and len(w) > 2]
    for w in sorted(dict.fromkeys(caps), key=len, reverse=True):
        if len(tags) >= limit:
            break
        if w.lower() not in {t.lower() for t in tags}:
            tags.append(w)
    return ["#" + t for t in tags[:limit]]


def template_caption(*, title: str, summary_html: str, link: str | None, platform: str,
                     max_length: int | None = None) -> str:
    """Title, a short summary, hashtags from the title, the link; fitted to the platform's limit. An entry
    without a title is led by its summary (or content) instead. Empty when the item has no text at all: the
    pipeline then holds it for approval rather than posting a bare link."""
    title = strip_html(title)
    body = strip_html(summary_html)
    if not title and not body:
        return ""
    if title:
        summary = summarize(body, 160)
        if summary and normalise_title(summary).startswith(normalise_title(title)):
            summary = ""
    else:
        title, summary = summarize(body, 200), ""
    tags = " ".join(hashtags_from_title(title))
    parts = [title]
    if summary:
        parts.append(summary)
    if tags:
        parts.append(tags)
    text = "\n\n".join(parts)
    if link:
        text += "\n\n" + link
    limit = min(max_length or limit_for(platform), limit_for(platform))
    if caption_length(text, platform) > limit and tags:
        text = "\n\n".join(p for p in parts if p != tags) + ("\n\n" + link if link else "")
    return shorten(text, platform, limit)


def caption_hash(*, title: str, summary: str, feed_name: str, platform: str, cs: CaptionSettings,
                 system_prompt: str | None = None) -> str:
    blob = json.dumps([title, summary[:1000], feed_name, platform, cs.model, cs.tone, system_prompt or cs.prompt,
                       cs.temperature, cs.max_length], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def build_messages(*, title: str, summary: str, feed_name: str, platform: str, cs: CaptionSettings,
                   system_prompt: str | None = None) -> list[dict]:
    limit = min(cs.max_length, limit_for(platform.lower()))
    system = system_prompt or cs.prompt or (
        "You write social media captions for a movie and TV news account. Write one caption for the article. "
        f"Tone: {cs.tone}. At most {limit} characters. Lead with the news, no clickbait, no invented facts, "
        "at most two relevant hashtags, no links (the link is added separately). Answer with the caption only.")
    user = f"Platform: {platform}\nSource: {feed_name}\nHeadline: {title}\nSummary: {summary[:1500]}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


async def ai_caption(client, api_key: str, *, title: str, summary: str, feed_name: str, platform: str,
                     cs: CaptionSettings, system_prompt: str | None = None, use_cache: bool = True,
                     run_db=None) -> tuple[str, bool]:
    """(caption, from_cache). Raises OpenAIError on failure; callers fall back to the template.
    `run_db` runs the sync cache queries (the pipeline passes its pool-bounded runner)."""
    import asyncio

    run_db = run_db or asyncio.to_thread
    from shared.ai.openai_chat import chat
    from shared.db import connection

    key = caption_hash(title=title, summary=summary, feed_name=feed_name, platform=platform, cs=cs,
                       system_prompt=system_prompt)

    def _get() -> str | None:
        with connection() as c:
            row = c.execute("SELECT caption FROM rss_caption_cache WHERE content_hash = %s", (key,)).fetchone()
        return row["caption"] if row else None

    if use_cache:
        cached = await run_db(_get)
        if cached:
            return cached, True
    result = await chat(client, api_key, model=cs.model, messages=build_messages(
        title=title, summary=summary, feed_name=feed_name, platform=platform, cs=cs, system_prompt=system_prompt),
        temperature=cs.temperature, max_tokens=300)
    text = result.content.strip().strip('"').strip()
    if not text:
        from shared.ai.openai_chat import OpenAIError

        raise OpenAIError("OpenAI returned an empty caption")

    def _put() -> None:
        with connection() as c:
            c.execute("INSERT INTO rss_caption_cache (content_hash, caption, model) VALUES (%s, %s, %s) "
                      "ON CONFLICT (content_hash) DO NOTHING", (key, text, cs.model))

    await run_db(_put)
    return text, False


def with_link(caption: str, link: str | None, platform: str, max_length: int | None = None) -> str:
    """Append the article link to an AI caption and fit the whole to the platform."""
    text = caption if not link or link in caption else f"{caption}\n\n{link}"
    limit = min(max_length or limit_for(platform), limit_for(platform))
    if platform == "x":
        limit = max(limit, 0)
    return shorten(text, platform, limit)
