"""SQL for TMDb posts, and the row <-> `TMDbPost` mapping of frontend-contract §1.5."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from shared.tmdb.settings import DISPLAY

_PLATFORM_OF_DISPLAY = {v.lower(): k for k, v in DISPLAY.items()}
API_STATUS = {"queued": "queued", "scheduled": "scheduled", "publishing": "scheduled", "published": "published",
              "failed": "failed"}


def platform_key(name: str) -> str | None:
    """'X' / 'x' / 'Threads' -> 'x' / 'threads'; None for a platform TMDb posts never go to."""
    n = str(name or "").strip().lower()
    n = {"twitter": "x"}.get(n, n)
    return n if n in DISPLAY else _PLATFORM_OF_DISPLAY.get(n)


def display(platforms: list[str]) -> list[str]:
    return [DISPLAY[p] for p in platforms if p in DISPLAY]


def _json(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def to_api(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": str(row["id"]), "tmdbId": row["tmdb_id"], "mediaType": row["media_type"], "title": row["title"],
        "year": row["year"], "releaseDate": row["release_date"].isoformat() if row["release_date"] else None,
        "caption": row["caption"], "imageUrl": row["image_url"], "imageType": row["image_type"],
        "imageUrls": row["image_urls"] or ([row["image_url"]] if row["image_url"] else []),
        "imageTypes": row["image_types"] or ([row["image_type"]] if row["image_type"] else []),
        "imageStyle": row.get("image_style"),
        "scheduledTime": iso(row["scheduled_at"]), "source": row["source"], "cast": row["cast_names"] or [],
        "popularity": row["popularity"], "cacheHit": bool(row["cache_hit"]), "status": API_STATUS[row["status"]],
        "platforms": display(list(row["platforms"] or [])), "publishedTime": iso(row["published_at"]),
        "errorMessage": row["error_message"], "createdAt": iso(row["created_at"]), "updatedAt": iso(row["updated_at"]),
        # beyond the contract: why and how it was picked, where a delivery stands
        "score": row.get("score"), "anniversaryYears": row.get("anniversary_years"),
        "captionSource": row.get("caption_source"), "platformResults": row.get("platform_results") or {},
    }
    if row["status"] == "publishing":
        out["stage"] = "publishing"
    return out


INSERT_COLUMNS = ("id", "cycle_key", "tmdb_id", "media_type", "source", "title", "year", "release_date",
                  "anniversary_years", "caption", "caption_source", "image_url", "image_type", "image_urls",
                  "image_types", "image_style", "scheduled_at", "status", "platforms", "cast_names", "genres",
                  "popularity", "score", "cache_hit", "published_at", "error_message", "platform_results",
                  "created_at")
_JSON = {"image_urls", "image_types", "cast_names", "genres", "platform_results", "carried_by"}


def insert(conn, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a post; None when its id or cycle key already exists (a repeated undo, an overlapping refresh)."""
    cols = [c for c in INSERT_COLUMNS if c in values]
    params = [_json(values[c]) if c in _JSON else values[c] for c in cols]
    return conn.execute(
        f"INSERT INTO tmdb_posts ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
        "ON CONFLICT DO NOTHING RETURNING *", params).fetchone()


def get(conn, post_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM tmdb_posts WHERE id = %s" + (" FOR UPDATE" if for_update else ""),
                        (post_id,)).fetchone()


def list_all(conn, limit: int = 500) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM tmdb_posts ORDER BY scheduled_at NULLS LAST, created_at LIMIT %s",
                        (limit,)).fetchall()


def taken(conn, since: datetime) -> list[dict[str, Any]]:
    """Slots already used by live or recently published TMDb posts (the global gap and the daily caps count
    them)."""
    return conn.execute(
        "SELECT COALESCE(published_at, scheduled_at) AS at, platforms FROM tmdb_posts "
        "WHERE COALESCE(published_at, scheduled_at) >= %s AND status IN ('queued', 'scheduled', 'publishing', "
        "'published')", (since,)).fetchall()


def update(conn, post_id: str, changes: dict[str, Any], *, bump: bool = True) -> dict[str, Any] | None:
    sets, params = [], []
    for col, value in changes.items():
        sets.append(f"{col} = %s")
        params.append(_json(value) if col in _JSON else value)
    if bump:
        sets += ["version = version + 1", "message_id = NULL"]
    sets.append("updated_at = now()")
    return conn.execute(f"UPDATE tmdb_posts SET {', '.join(sets)} WHERE id = %s RETURNING *",
                        (*params, post_id)).fetchone()


def delete(conn, post_id: str) -> dict[str, Any] | None:
    return conn.execute("DELETE FROM tmdb_posts WHERE id = %s RETURNING *", (post_id,)).fetchone()


def year_of(d: date | None) -> int | None:
    return d.year if d else None
