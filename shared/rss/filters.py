"""Keyword and age filters exactly as the frontend contract describes them (pure).

- Only `active` filters count. Each is `contains` (substring) or `exact` (whole text equals), optionally
  case-sensitive. The body is HTML-stripped.
- Scope: `title`, `body`, `title_or_body` (match in either), `title_and_body` (match in both).
- Every active required filter must match; any active blocked filter rejects.
- `maxItemAgeMinutes` rejects older items; `startFromNowAt` rejects items published before that instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.rss.textutil import strip_html

Scope = Literal["title", "body", "title_or_body", "title_and_body"]
SCOPES: tuple[str, ...] = ("title", "body", "title_or_body", "title_and_body")


@dataclass(frozen=True)
class KeywordFilter:
    text: str
    match_type: Literal["contains", "exact"] = "contains"
    case_sensitive: bool = False
    active: bool = True

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> KeywordFilter:
        return cls(text=str(raw.get("text", "")), match_type="exact" if raw.get("matchType") == "exact" else "contains",
                   case_sensitive=bool(raw.get("caseSensitive", False)), active=bool(raw.get("active", True)))


@dataclass(frozen=True)
class FilterSettings:
    scope: Scope = "title_or_body"
    required: tuple[KeywordFilter, ...] = ()
    blocked: tuple[KeywordFilter, ...] = ()
    max_item_age_minutes: int | None = None
    start_from_now_at: datetime | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> FilterSettings:
        raw = raw or {}
        scope: Scope = raw["scope"] if raw.get("scope") in SCOPES else "title_or_body"
        start = raw.get("startFromNowAt")
        start_dt = None
        if start:
            try:
                start_dt = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
            except ValueError:
                start_dt = None
        age = raw.get("maxItemAgeMinutes")
        return cls(scope=scope,
                   required=tuple(KeywordFilter.from_json(f) for f in raw.get("required") or [] if isinstance(f, dict)),
                   blocked=tuple(KeywordFilter.from_json(f) for f in raw.get("blocked") or [] if isinstance(f, dict)),
                   max_item_age_minutes=int(age) if isinstance(age, (int, float)) and age > 0 else None,
                   start_from_now_at=start_dt)


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""


def text_matches(f: KeywordFilter, text: str) -> bool:
    needle, hay = f.text.strip(), text
    if not needle:
        return False
    if not f.case_sensitive:
        needle, hay = needle.casefold(), hay.casefold()
    if f.match_type == "exact":
        return hay.strip() == needle
    return needle in hay


def filter_matches(f: KeywordFilter, scope: Scope, title: str, body: str) -> bool:
    if scope == "title":
        return text_matches(f, title)
    if scope == "body":
        return text_matches(f, body)
    if scope == "title_and_body":
        return text_matches(f, title) and text_matches(f, body)
    return text_matches(f, title) or text_matches(f, body)


def _active(filters: Iterable[KeywordFilter]) -> list[KeywordFilter]:
    return [f for f in filters if f.active and f.text.strip()]


def evaluate(settings: FilterSettings, *, title: str, body_html: str, published_at: datetime | None,
             now: datetime) -> Verdict:
    body = strip_html(body_html)
    for f in _active(settings.blocked):
        if filter_matches(f, settings.scope, title, body):
            return Verdict(False, f'blocked keyword "{f.text}" matched ({settings.scope})')
    for f in _active(settings.required):
        if not filter_matches(f, settings.scope, title, body):
            return Verdict(False, f'required keyword "{f.text}" not found ({settings.scope})')
    if published_at is not None:
        if settings.start_from_now_at is not None and published_at < settings.start_from_now_at:
            return Verdict(False, "published before startFromNowAt")
        if settings.max_item_age_minutes is not None and \
                now - published_at > timedelta(minutes=settings.max_item_age_minutes):
            return Verdict(False, f"older than maxItemAgeMinutes ({settings.max_item_age_minutes} min)")
    return Verdict(True)
