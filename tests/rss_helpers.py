"""Shared helpers for the RSS/channel tests."""

from __future__ import annotations

import time


def set_settings(**values) -> None:
    """Write settings the way PUT /api/settings does. No platform account is connected in these tests, so
    unless a test says otherwise the engine runs in dry-run mode and records what it would have posted."""
    from shared.settings.service import update_settings

    values.setdefault("publishMode", "dry_run")
    update_settings(values)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def article_html(image_url: str) -> str:
    return (f'<html><head><meta property="og:image" content="{image_url}">'
            f'<meta name="twitter:image" content="{image_url}"></head><body><p>Article</p></body></html>')
