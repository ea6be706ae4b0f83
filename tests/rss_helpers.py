"""Shared helpers for the RSS/channel tests."""

from __future__ import annotations

import time

from psycopg.types.json import Jsonb

from shared.settings.inventory import SECRET_KEYS


def set_settings(**values) -> None:
    from shared.db import connection
    from shared.security.secretbox import get_secretbox

    with connection() as conn:
        for key, value in values.items():
            if key in SECRET_KEYS:
                value = {"$enc": get_secretbox().encrypt(value, aad=f"setting:{key}")}
            conn.execute("INSERT INTO settings (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                         "SET value = EXCLUDED.value", (key, Jsonb(value)))


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
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
