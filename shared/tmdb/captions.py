"""TMDb captions: the temporal context, a template that always works, the AI prompt, and fitting the text to
every platform of the post (pure).

Length is counted the way each platform counts it (shared/publishing/validation/text.py through
shared/rss/textlength.py: X weights URLs and wide characters, Threads counts emoji as bytes), against the
owner's `captionMaxLength` (default 100, frontend-contract §3.3) or the platform's own limit if lower.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

from shared.rss.textlength import caption_length, limit_for, shorten

TAGS = ("releasing_today", "releasing_this_week", "releasing_this_month", "anniversary")
_TAG_ALIASES = {"today": "releasing_today", "this_week": "releasing_this_week", "week": "releasing_this_week",
                "weekly": "releasing_this_week", "this_month": "releasing_this_month", "month": "releasing_this_month",
                "monthly": "releasing_this_month", "anniversaries": "anniversary"}


def normalize_tag(tag: str) -> str:
    t = (tag or "").strip().lower()
    t = _TAG_ALIASES.get(t, t)
    if t not in TAGS:
        raise ValueError(f"temporalTag must be one of {', '.join(TAGS)}")
    return t


@dataclass(frozen=True)
class CaptionContext:
    title: str
    media_type: str  # movie | tv
    tag: str  # one of TAGS
    days_until: int = 0
    release_date: date | None = None
    anniversary_years: int | None = None
    cast: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    include_cast: bool = True
    include_date: bool = True


def hashtag(title: str) -> str:
    """'Inside Out 2' -> '#InsideOut2' (the contract's example); accents kept, punctuation dropped."""
    words = re.findall(r"[^\W_]+", title, flags=re.UNICODE)
    tag = "".join(w[:1].upper() + w[1:] for w in words)
    return f"#{tag}" if tag else ""


def _date_text(d: date, with_year: bool = False) -> str:
    return d.strftime("%B ") + str(d.day) + (f", {d.year}" if with_year else "")


def _verb(ctx: CaptionContext) -> str:
    return "premieres" if ctx.media_type == "tv" else "releases"


def template(ctx: CaptionContext) -> list[str]:
    """The caption's sentences, most important first (fitting drops from the end)."""
    tag = hashtag(ctx.title) or ctx.title
    verb = _verb(ctx)
    d = ctx.release_date
    if ctx.tag == "releasing_today":
        lead = f"{tag} {verb} today."
    elif ctx.tag == "releasing_this_week":
        if ctx.include_date and d:
            lead = f"{tag} {verb} {d.strftime('%A')}, {_date_text(d)}."
        else:
            lead = f"{tag} {verb} in {ctx.days_until} day{'s' if ctx.days_until != 1 else ''}." \
                if ctx.days_until > 0 else f"{tag} {verb} this week."
    elif ctx.tag == "releasing_this_month":
        lead = f"{tag} {verb} {_date_text(d)}." if ctx.include_date and d else f"{tag} {verb} next month."
    else:
        n = ctx.anniversary_years or 0
        what = "premiered" if ctx.media_type == "tv" else "was released"
        lead = f"{tag} {what} {n} year{'s' if n != 1 else ''} ago today."
        if ctx.include_date and d:
            lead = lead[:-1] + f" ({_date_text(d, with_year=True)})."
    parts = [lead]
    if ctx.include_cast and ctx.cast:
        parts.append("Starring " + ", ".join(ctx.cast[:3]) + ".")
    return parts


def limit_for_platforms(platforms: tuple[str, ...] | list[str], max_length: int) -> dict[str, int]:
    return {p: min(max_length, limit_for(p)) for p in (platforms or ("x",))}


def fits_all(text: str, limits: dict[str, int]) -> bool:
    return all(caption_length(text, p) <= n for p, n in limits.items())


def fit(parts: list[str] | str, platforms, max_length: int) -> str:
    """Join the sentences, dropping trailing ones until the text fits every platform; a single sentence that
    still does not fit is shortened at a word boundary for the strictest platform."""
    limits = limit_for_platforms(tuple(platforms or ()), max_length)
    items = [parts] if isinstance(parts, str) else list(parts)
    while len(items) > 1 and not fits_all(" ".join(items), limits):
        items.pop()
    text = " ".join(items).strip()
    for p, n in sorted(limits.items(), key=lambda kv: kv[1]):
        if caption_length(text, p) > n:
            text = shorten(text, p, n)
    return text


def template_caption(ctx: CaptionContext, platforms, max_length: int) -> str:
    return fit(template(ctx), platforms, max_length)


_DEFAULT_SYSTEM = (
    "You write short social media captions for a movie and TV account. One caption, at most {limit} characters, "
    "using the title as a hashtag (e.g. \"#InsideOut2 releases today.\"). State only the facts given: never "
    "invent a date, network, platform or cast. No links. Answer with the caption only.")
_TAG_TEXT = {"releasing_today": "It releases today.", "releasing_this_week": "It releases this week.",
             "releasing_this_month": "It releases next month.", "anniversary": "Today is its anniversary."}


def build_messages(ctx: CaptionContext, *, max_length: int, prompt: str = "") -> list[dict]:
    system = (prompt.strip() or _DEFAULT_SYSTEM).replace("{limit}", str(max_length))
    if prompt.strip():
        system += f"\nKeep it under {max_length} characters and answer with the caption only."
    facts = [f"Title: {ctx.title}", f"Type: {'TV series' if ctx.media_type == 'tv' else 'movie'}",
             f"Timing: {ctx.tag} ({_TAG_TEXT[ctx.tag]})"]
    if ctx.release_date and ctx.include_date:
        facts.append(f"Release date: {ctx.release_date.isoformat()}")
    if ctx.tag != "anniversary":
        facts.append(f"Days until release: {ctx.days_until}")
    if ctx.anniversary_years:
        facts.append(f"Anniversary: {ctx.anniversary_years} years")
    if ctx.cast and ctx.include_cast:
        facts.append("Cast: " + ", ".join(ctx.cast[:3]))
    if ctx.genres:
        facts.append("Genres: " + ", ".join(ctx.genres[:3]))
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(facts)}]


def cache_key(ctx: CaptionContext, *, model: str, prompt: str, temperature: float, max_length: int,
              platforms) -> str:
    blob = json.dumps([ctx.title, ctx.media_type, ctx.tag, ctx.days_until,
                       ctx.release_date.isoformat() if ctx.release_date else None, ctx.anniversary_years,
                       list(ctx.cast[:3]) if ctx.include_cast else [], list(ctx.genres[:3]), ctx.include_date,
                       model, prompt, temperature, max_length, sorted(platforms or ())], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def clean_ai_text(text: str) -> str:
    return text.strip().strip('"').strip("“”").strip()
