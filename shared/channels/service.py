"""Channels API logic (frontend-contract §1.6)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from shared.db import connection, transaction
from shared.errors import Conflict, NotFound, UpstreamError, ValidationFailed


def _iso(v):
    return v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if v else None


def channel_json(c: dict) -> dict:
    return {"id": str(c["id"]), "name": c["name"], "channelId": c["channel_id"], "handle": c["handle"],
            "status": c["status"], "videoCount": c["video_count"], "interval": c["interval_minutes"],
            "lastCheckedAt": _iso(c["last_checked_at"]), "errorMessage": c["error_message"],
            "createdAt": _iso(c["created_at"])}


def list_channels() -> list[dict]:
    with connection() as conn:
        return [channel_json(c) for c in conn.execute("SELECT * FROM yt_channels ORDER BY created_at DESC")]


def _resolve(value: str):
    from shared.channels.youtube import ChannelNotFound, resolve
    from shared.net.fetch import FetchError, make_client

    async def go():
        async with make_client(2) as client:
            return await resolve(client, value)
    try:
        return asyncio.run(go())
    except ChannelNotFound as exc:
        raise ValidationFailed(str(exc), details={"channelId": value}) from exc
    except FetchError as exc:
        raise UpstreamError(f"could not reach YouTube: {exc.message}") from exc


def _default_interval() -> int:
    from shared.settings.store import read_setting

    try:
        return max(1, min(60, int(read_setting("fetchInterval", "10"))))
    except (TypeError, ValueError):
        return 10


def create_channel(name: str | None, channel_input: str, interval: int | None) -> dict:
    from shared import activity

    resolved = _resolve(channel_input)
    with transaction() as conn:
        row = conn.execute(
            "INSERT INTO yt_channels (name, channel_id, handle, interval_minutes) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (channel_id) DO NOTHING RETURNING *",
            ((name or resolved.title or resolved.channel_id)[:200], resolved.channel_id, resolved.handle,
             interval or _default_interval())).fetchone()
        if row is None:
            raise Conflict("this channel is already monitored", details={"channelId": resolved.channel_id})
        activity.log("youtube", "info", f"channel added: {row['name']}", {"channelId": row["channel_id"]}, conn=conn)
    _channels_changed(str(row["id"]))
    return channel_json(row)


def _channels_changed(*ids: str) -> None:
    """The checks' Redis copy follows the table (shared/channels/timing.py)."""
    from shared.channels.timing import channels_changed

    channels_changed(list(ids))


def update_channel(cid: str, data: dict) -> dict:
    cols: dict = {}
    if "status" in data and data["status"] is not None:
        cols["status"] = data["status"]
        if data["status"] == "active":
            cols.update(next_run_at=datetime.now(timezone.utc), consecutive_failures=0, error_message=None)
    if data.get("name"):
        cols["name"] = data["name"]
    if data.get("interval"):
        cols["interval_minutes"] = data["interval"]
    if data.get("channelId"):
        with connection() as conn:
            current = conn.execute("SELECT channel_id, handle FROM yt_channels WHERE id = %s", (cid,)).fetchone()
        if current is None:
            raise NotFound("channel not found")
        if data["channelId"] not in (current["channel_id"], current["handle"]):
            r = _resolve(data["channelId"])
            cols.update(channel_id=r.channel_id, handle=r.handle, seeded=False, etag=None, last_modified=None)
    with transaction() as conn:
        if cols:
            sets = ", ".join(f"{k} = %s" for k in cols)
            try:
                row = conn.execute(f"UPDATE yt_channels SET {sets}, updated_at = now() WHERE id = %s RETURNING *",
                                   (*cols.values(), cid)).fetchone()
            except Exception as exc:
                if "yt_channels_channel_id_key" in str(exc):
                    raise Conflict("another entry already monitors this channel") from exc
                raise
        else:
            row = conn.execute("SELECT * FROM yt_channels WHERE id = %s", (cid,)).fetchone()
        if row is None:
            raise NotFound("channel not found")
    if cols:
        _channels_changed(cid)
    return channel_json(row)


def delete_channel(cid: str) -> None:
    with connection() as conn:
        if conn.execute("DELETE FROM yt_channels WHERE id = %s RETURNING id", (cid,)).fetchone() is None:
            raise NotFound("channel not found")
    _channels_changed(cid)


def detections(limit: int) -> list[dict]:
    with connection() as conn:
        rows = conn.execute(
            "SELECT v.id, v.video_id, v.title, v.url, v.published_at, v.matched_keyword, v.created_at, "
            "c.id AS cid, c.name AS cname FROM yt_videos v JOIN yt_channels c ON c.id = v.channel_ref "
            "WHERE v.detected ORDER BY v.created_at DESC LIMIT %s", (limit,)).fetchall()
    return [{"id": str(r["id"]), "videoId": r["video_id"], "title": r["title"], "url": r["url"],
             # a feed entry without a date (YouTube always sends one) shows when we saw it: the SPA sorts by it
             "publishedAt": _iso(r["published_at"] or r["created_at"]), "detectedAt": _iso(r["created_at"]),
             "matchedKeyword": r["matched_keyword"], "channel": {"id": str(r["cid"]), "name": r["cname"]}}
            for r in rows]
