"""TMDb refresh and the TMDb page's post operations (frontend-contract §1.5).

refresh: settings -> discovery (TMDb, cached, rate-limited) -> rank -> claim in the ledger (unique key, per-title
lock) -> captions -> images -> slots (one transaction under a placement lock) -> posts -> arm the scheduled ones.
A title that finds no slot gives its claim back; every step is in the activity log (`tmdbLogLevel`: minimal =
the summary and errors, standard = each post, full = each rejected title too) and the run ends with a
notification (`source: tmdb`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from shared.db.rows import one
from shared.errors import Conflict, NotFound, ValidationFailed, uuid_or_not_found
from shared.tmdb import ledger, repo
from shared.tmdb.captions import CaptionContext
from shared.tmdb.modules import MODULE_OF_SOURCE, MODULES, SOURCE, TEMPORAL_TAG, cycle_key, owner_today
from shared.tmdb.settings import SETTING_KEYS, TMDbSettings

if TYPE_CHECKING:
    from shared.activity import Level

log = logging.getLogger("screndly.tmdb.service")


@dataclass
class RefreshReport:
    added: int = 0
    errors: list[str] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    rejected: int = 0
    already: int = 0
    tmdb_calls: int = 0
    cache_hits: int = 0
    armed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "errors": self.errors, "posts": self.posts, "rejected": self.rejected,
                "alreadyPlanned": self.already, "tmdbCalls": self.tmdb_calls, "cacheHits": self.cache_hits,
                "armed": self.armed}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def refresh(overrides: dict[str, Any] | None = None, *, trigger: str = "manual", now: datetime | None = None,
            client_factory=None) -> RefreshReport:
    from shared import activity
    from shared.settings.store import read_settings
    from shared.tmdb.client import TMDbNotConfigured, credential

    now = now or _now()
    stored = read_settings(list(SETTING_KEYS))
    cfg = TMDbSettings.from_settings(stored, overrides)
    key = credential(stored)
    if not key:
        activity.log("tmdb", "error", f"TMDb refresh ({trigger}) skipped: no TMDb API key (tmdbKey) is set")
        raise TMDbNotConfigured("TMDb is not configured: add your TMDb API key (tmdbKey) in Settings")
    report = asyncio.run(_refresh(cfg, key, stored, trigger, now, client_factory))
    return report


async def _refresh(cfg: TMDbSettings, key: str, stored: dict, trigger: str, now: datetime,
                   client_factory) -> RefreshReport:
    from shared import activity
    from shared.db import connection
    from shared.tmdb import caption_service, discovery, dispatch
    from shared.tmdb.client import TMDbClient

    report = RefreshReport()
    today = owner_today(now, cfg.tz)
    since = now - max(timedelta(days=cfg.dedupe_window_days), ledger.ANNIVERSARY_BLOCK)

    def _load():
        with connection() as conn:
            known = ledger.known_keys(conn, today - timedelta(days=1))
            rows = conn.execute("SELECT media_type, tmdb_id, module, status, created_at FROM tmdb_ledger "
                                "WHERE created_at >= %s", (since,)).fetchall()
        hist: dict[tuple[str, int], list[ledger.Past]] = {}
        for r in rows:
            hist.setdefault((r["media_type"], r["tmdb_id"]), []).append(
                ledger.Past(r["module"], r["status"], r["created_at"]))
        return known, hist

    known, hist = await asyncio.to_thread(_load)

    def blocked(module: str, title_key: tuple[str, int]) -> str | None:
        return ledger.recent_block(module, hist.get(title_key, []), now, cfg.dedupe_window_days)

    client = client_factory(key) if client_factory else TMDbClient(key)
    try:
        found = await discovery.discover(client, cfg, today, known, blocked)
    finally:
        report.tmdb_calls, report.cache_hits = client.stats.calls, client.stats.cache_hits
        await client.aclose()
    report.errors += found.errors
    report.rejected, report.already = len(found.rejected), len(found.already)
    if cfg.log_level == "full":
        for r in found.rejected:
            await asyncio.to_thread(activity.log, "tmdb", "debug", f"filtered ({r.module}): {r.title} — {r.reason}",
                                    {"tmdbId": r.tmdb_id, "mediaType": r.media_type, "module": r.module})

    claimed = await asyncio.to_thread(_claim_all, found, cfg, now, report)
    jobs = [caption_service.CaptionJob(
        ctx=_caption_context(f, cfg, today), platforms=cfg.platforms[f.module] or ("x",),
        max_length=cfg.caption_max_length, model=cfg.caption_model, prompt=cfg.prompts.get(f.module, ""),
        temperature=cfg.caption_temperature) for f in claimed]
    caps = await caption_service.generate_many(jobs, str(stored.get("openaiKey") or "") or None)
    for f, cap in zip(claimed, caps):
        if cap.error:
            report.errors.append(f"caption for {f.candidate.title}: {cap.error} (template used)")
    posts = await asyncio.to_thread(_place_and_insert, claimed, caps, cfg, now, report)
    report.posts = [repo.to_api(p) for p in posts]
    report.added = len(posts)
    report.armed = await asyncio.to_thread(dispatch.arm, posts, now)
    report.armed += await asyncio.to_thread(dispatch.sweep, now)
    from shared.tmdb.delivery import reconcile_publishing

    await asyncio.to_thread(reconcile_publishing)
    await asyncio.to_thread(_summarize, report, cfg, trigger)
    from shared import clock
    from shared.usage import meter

    meter.count("tmdb.runs")  # GET /api/automation/status
    meter.gauge("tmdb.last_run", clock.time())
    return report


def _caption_context(f, cfg: TMDbSettings, today: date) -> CaptionContext:
    c = f.candidate
    return CaptionContext(title=c.title, media_type=c.media_type, tag=TEMPORAL_TAG[f.module],
                          days_until=max(0, (c.release_date - today).days) if c.release_date else 0,
                          release_date=c.release_date, anniversary_years=c.anniversary_years, cast=c.cast[:3],
                          genres=c.genre_names[:3], include_cast=cfg.include_cast, include_date=cfg.include_date)


def _claim_all(found, cfg: TMDbSettings, now: datetime, report: RefreshReport) -> list:
    """Walk each module's ranking and claim ledger keys until the module's max items (and, for anniversaries,
    maxPerAnniversary per number of years) are reached."""
    from shared.db import transaction

    out = []
    for module in MODULES:
        limit = cfg.max_items.get(module, 0)
        per_years: dict[int, int] = {}
        taken = 0
        for f in found.accepted[module]:
            if taken >= limit:
                break
            c = f.candidate
            if module == "anniversary":
                n = c.anniversary_years or 0
                if per_years.get(n, 0) >= cfg.max_per_anniversary:
                    continue
            with transaction() as conn:
                ok, _why = ledger.claim(conn, key=f.key, media_type=c.media_type, tmdb_id=c.tmdb_id, module=module,
                                       release=c.release_date, anniversary_years=c.anniversary_years, now=now,
                                       window_days=cfg.dedupe_window_days)
            if not ok:
                report.already += 1
                continue
            taken += 1
            if module == "anniversary":
                per_years[c.anniversary_years or 0] = per_years.get(c.anniversary_years or 0, 0) + 1
            out.append(f)
    return out


def _place_and_insert(claimed: list, caps: list, cfg: TMDbSettings, now: datetime, report: RefreshReport) -> list[dict]:
    from shared import activity
    from shared.db import transaction
    from shared.tmdb import images, slots

    if not claimed:
        return []
    rules = slots.SlotRules(tz=cfg.tz, quotas=cfg.quotas, quiet_enabled=cfg.quiet_enabled,
                            quiet_start=cfg.quiet_start, quiet_end=cfg.quiet_end)
    posts: list[dict] = []
    with transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('tmdb:place'))")
        taken = [slots.Taken(r["at"], tuple(r["platforms"] or ())) for r in repo.taken(conn, now - timedelta(days=1))]
        reqs = [slots.Request(ref=f.key, module=f.module, platforms=cfg.platforms[f.module],
                              release_date=f.candidate.release_date, score=f.score) for f in claimed]
        when = slots.schedule(reqs, now, taken, rules)
        for f, cap in zip(claimed, caps):
            c = f.candidate
            at = when.get(f.key)
            if at is None:
                ledger.release(conn, f.key)
                msg = f"no slot for {c.title} ({f.module}) before its deadline (60-minute gap, daily caps, quiet hours)"
                report.errors.append(msg)
                activity.log("tmdb", "warn", msg, {"tmdbId": c.tmdb_id, "module": f.module}, conn=conn)
                continue
            image_url, image_type = images.choose(cfg.preferred_image, c.poster_path, c.backdrop_path, seed=f.key)
            status = "scheduled" if cfg.auto_post.get(f.module) else "queued"
            row = repo.insert(conn, {
                "id": str(uuid.uuid4()), "cycle_key": f.key, "tmdb_id": c.tmdb_id, "media_type": c.media_type,
                "source": SOURCE[f.module], "title": c.title, "year": c.year, "release_date": c.release_date,
                "anniversary_years": c.anniversary_years, "caption": cap.text, "caption_source": cap.source,
                "image_url": image_url, "image_type": image_type, "image_urls": [image_url] if image_url else [],
                "image_types": [image_type] if image_type else [], "scheduled_at": at, "status": status,
                "platforms": list(cfg.platforms[f.module]), "cast_names": list(c.cast[:5]),
                "genres": list(c.genre_names), "popularity": c.popularity, "score": f.score,
                "cache_hit": cap.cache_hit})
            if row is None:  # an overlapping refresh inserted this cycle first
                continue
            ledger.attach(conn, f.key, str(row["id"]), status)
            posts.append(row)
            if cfg.log_level != "minimal":
                activity.log("tmdb", "info", f"{status}: {c.title} ({f.module}) at {at.isoformat()}",
                             {"postId": str(row["id"]), "tmdbId": c.tmdb_id, "mediaType": c.media_type,
                              "module": f.module, "score": f.score, "platforms": list(cfg.platforms[f.module]),
                              "captionSource": cap.source}, conn=conn)
    return posts


def _summarize(report: RefreshReport, cfg: TMDbSettings, trigger: str) -> None:
    from shared import activity

    level: Level = "warn" if report.errors else "info"
    activity.log("tmdb", level, f"TMDb refresh ({trigger}): {report.added} post(s) added, {report.rejected} filtered, "
                 f"{report.already} already planned, {len(report.errors)} error(s)",
                 {"added": report.added, "errors": report.errors[:20], "tmdbCalls": report.tmdb_calls,
                  "cacheHits": report.cache_hits, "armed": report.armed, "trigger": trigger})
    if report.added:
        activity.notify("success", f"TMDb: {report.added} new post{'s' if report.added != 1 else ''}",
                        ", ".join(p["title"] for p in report.posts[:5]), source="tmdb", action_page="tmdb")
    if report.errors and (trigger != "manual" or not report.added):
        activity.notify("warning", f"TMDb refresh: {len(report.errors)} problem(s)", "; ".join(report.errors[:3]),
                        source="tmdb", action_page="tmdb")


def scheduled_refresh(trigger: str) -> dict[str, Any]:
    """The QStash schedules' run: a missing key or a TMDb outage is logged and notified, not retried by QStash
    (the next schedule tries again)."""
    from shared import activity
    from shared.tmdb.client import TMDbNotConfigured

    try:
        return refresh(None, trigger=trigger).as_dict()
    except TMDbNotConfigured as exc:
        return {"skipped": str(exc)}
    except Exception as exc:
        log.exception("scheduled TMDb refresh failed")
        activity.log("tmdb", "error", f"TMDb refresh ({trigger}) failed: {type(exc).__name__}: {str(exc)[:300]}")
        activity.notify("error", "TMDb refresh failed", f"{type(exc).__name__}: {str(exc)[:200]}", source="tmdb",
                        action_page="tmdb")
        return {"failed": f"{type(exc).__name__}"}


# --- the TMDb page's operations ------------------------------------------------------------------------------

def list_posts() -> list[dict]:
    from shared.db import connection

    with connection() as conn:
        return [repo.to_api(r) for r in repo.list_all(conn)]


def _parse_time(value: Any, field_name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(f"{field_name} must be an ISO date-time", details={"field": field_name}) from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _platforms(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationFailed("platforms must be a list of platform names", details={"field": "platforms"})
    out = []
    for name in value:
        key = repo.platform_key(name)
        if key is None:
            raise ValidationFailed(f"TMDb posts cannot go to {name!r} (X, Threads, Facebook, YouTube, Pinterest)",
                                   details={"field": "platforms"})
        if key not in out:
            out.append(key)
    return out


def create_post(body: dict[str, Any]) -> dict:
    """Create or restore (undo of a delete) a post from a full TMDbPost. Repeating it changes nothing."""
    from shared.db import transaction
    from shared.tmdb import dispatch

    post_id = str(uuid.UUID(str(body["id"]))) if body.get("id") else str(uuid.uuid4())
    module = MODULE_OF_SOURCE[body["source"]]
    release = date.fromisoformat(body["releaseDate"]) if body.get("releaseDate") else None
    years = body.get("anniversaryYears")
    key = None
    if release and (module != "anniversary" or years):
        key = cycle_key(body["mediaType"], int(body["tmdbId"]), module, release, years)
    platforms = _platforms(body.get("platforms") or [])
    scheduled = _parse_time(body.get("scheduledTime"), "scheduledTime")
    status = body.get("status") or "queued"
    if status == "scheduled" and scheduled is None:
        raise ValidationFailed("a scheduled post needs a scheduledTime", details={"field": "scheduledTime"})
    values = {
        "id": post_id, "cycle_key": key, "tmdb_id": int(body["tmdbId"]), "media_type": body["mediaType"],
        "source": body["source"], "title": body["title"],
        "year": body.get("year") or (release.year if release else None),
        "release_date": release, "anniversary_years": years, "caption": body.get("caption") or "",
        "caption_source": "restored", "image_url": body.get("imageUrl"), "image_type": body.get("imageType"),
        "image_urls": body.get("imageUrls") or ([body["imageUrl"]] if body.get("imageUrl") else []),
        "image_types": body.get("imageTypes") or ([body["imageType"]] if body.get("imageType") else []),
        "image_style": body.get("imageStyle"), "scheduled_at": scheduled, "status": status, "platforms": platforms,
        "cast_names": body.get("cast") or [], "popularity": body.get("popularity"),
        "cache_hit": bool(body.get("cacheHit")),
        "published_at": _parse_time(body.get("publishedTime"), "publishedTime"),
        "error_message": body.get("errorMessage")}
    if body.get("createdAt"):
        values["created_at"] = _parse_time(body["createdAt"], "createdAt")
    with transaction() as conn:
        row = repo.insert(conn, values)
        if row is None:
            existing = repo.get(conn, post_id)
            if existing is None:
                raise Conflict("a post for this title and release already exists",
                               details={"cycleKey": key})
            return repo.to_api(existing)
        if key:
            conn.execute(
                "INSERT INTO tmdb_ledger (cycle_key, tmdb_id, media_type, module, release_date, anniversary_years, "
                "post_id, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (cycle_key) DO UPDATE SET "
                "post_id = EXCLUDED.post_id, status = EXCLUDED.status, updated_at = now()",
                (key, row["tmdb_id"], row["media_type"], module, release, years, post_id,
                 status if status in ledger.LIVE or status == "failed" else "queued"))
        _audit(conn, f"restored: {row['title']}" if body.get("id") else f"created: {row['title']}", row)
    dispatch.arm([row])
    return repo.to_api(row)


_EDITABLE = {"caption": "caption", "imageUrl": "image_url", "imageType": "image_type", "imageUrls": "image_urls",
             "imageTypes": "image_types", "imageStyle": "image_style", "errorMessage": "error_message"}


def update_post(post_id: str, patch: dict[str, Any]) -> dict:
    """Partial update: reschedule, status changes, caption/image/platform edits. A change of time or status
    bumps the version (an armed message goes stale) and re-arms a scheduled post. A post carried ahead
    (delivery.carry_ahead) gives its stages up first (409 while one is being sent) and goes back to its delivery
    at the slot, with the edit (the next window may carry it again)."""
    from shared.db import transaction
    from shared.publishing.staging import ahead
    from shared.tmdb import delivery, dispatch

    post_id = uuid_or_not_found(post_id, "TMDb post")
    touches = patch.get("status") is not None or any(
        k in patch for k in (*_EDITABLE, "platforms", "scheduledTime", "publishedTime"))
    released = _release_carried(post_id, "edited") if touches else []
    uncarried = False
    try:
        with transaction() as conn:
            post = _locked_for_change(conn, post_id)
            if not touches:
                return repo.to_api(post)
            uncarried = delivery.uncarry(conn, post, "edited")
            row = _apply_update(conn, post_id, post, patch)
    except BaseException:
        ahead.keep_at_slot(released)
        raise
    timing = timing_changed(patch)
    if row["status"] == "scheduled" and (timing or uncarried):
        dispatch.arm([row])  # the same item, moved to the new time (or armed again: the post is its own again)
    elif timing and post["status"] == "scheduled":
        dispatch.disarm(post_id)  # no longer scheduled: its item would do nothing
    return repo.to_api(row)


def timing_changed(patch: dict[str, Any]) -> bool:
    return "scheduledTime" in patch or patch.get("status") is not None


def _release_carried(post_id: str, what: str) -> list[str]:
    """A carried post gives up its stages before a change (409 while one is being sent). Not carried: one read
    of the post, nothing more."""
    from shared.db import connection
    from shared.tmdb import delivery

    with connection() as conn:
        post = repo.get(conn, post_id)
    return delivery.release_carried(post, what) if post is not None and post.get("carried_by") else []


def _apply_update(conn, post_id: str, post: dict, patch: dict[str, Any]) -> dict:
    changes: dict[str, Any] = {k2: patch[k] for k, k2 in _EDITABLE.items() if k in patch}
    if "platforms" in patch:
        changes["platforms"] = _platforms(patch["platforms"] or [])
    timing = False
    if "scheduledTime" in patch:
        at = _parse_time(patch["scheduledTime"], "scheduledTime")
        if at is None:
            raise ValidationFailed("scheduledTime cannot be cleared", details={"field": "scheduledTime"})
        changes["scheduled_at"] = at
        timing = True
    if "publishedTime" in patch:
        changes["published_at"] = _parse_time(patch["publishedTime"], "publishedTime")
    status = patch.get("status")
    if status is not None:
        changes["status"] = status
        timing = True
        if status == "scheduled" and (changes.get("scheduled_at") or post["scheduled_at"]) is None:
            changes["scheduled_at"] = _now() + timedelta(minutes=1)
        if status == "published" and "published_at" not in changes:
            changes["published_at"] = _now()
    row = one(repo.update(conn, post_id, changes, bump=timing))  # read under lock above
    if status is not None:
        ledger.mark(conn, post_id, status)
    what = ", ".join(sorted(patch))
    _audit(conn, f"edited ({what}): {row['title']}", row)
    return row


def delete_post(post_id: str) -> dict:
    from shared.db import transaction
    from shared.publishing.staging import ahead
    from shared.tmdb import delivery

    post_id = uuid_or_not_found(post_id, "TMDb post")
    released = _release_carried(post_id, "deleted")
    try:
        with transaction() as conn:
            row = _locked_for_change(conn, post_id)
            delivery.uncarry(conn, row, "deleted")
            repo.delete(conn, post_id)
            ledger.mark(conn, post_id, "deleted")
            _audit(conn, f"deleted: {row['title']}", row)
    except BaseException:
        ahead.keep_at_slot(released)
        raise
    from shared.tmdb import dispatch

    dispatch.disarm(post_id)  # saves its wake-up; an item left behind finds the post gone and does nothing
    return {"id": post_id, "deleted": True}


def _locked_for_change(conn, post_id: str) -> dict:
    post = repo.get(conn, post_id, for_update=True)
    if post is None:
        raise NotFound("TMDb post not found")
    if post["status"] == "publishing":
        raise Conflict("this post is being published right now; try again in a minute")
    return post


def _audit(conn, message: str, row: dict) -> None:
    from shared import activity

    activity.log("tmdb", "info", message, {"postId": str(row["id"]), "tmdbId": row["tmdb_id"],
                                           "mediaType": row["media_type"], "status": row["status"]}, conn=conn)


# --- search and image pool (Design Studio) -----------------------------------------------------------------

def _ask_tmdb(req):
    """One TMDb request for the page (search, image pool) with the owner's key."""
    from shared.settings.store import read_settings
    from shared.tmdb.client import TMDbClient, TMDbNotConfigured, credential

    key = credential(read_settings(["tmdbKey"]))
    if not key:
        raise TMDbNotConfigured("TMDb is not configured: add your TMDb API key (tmdbKey) in Settings")

    async def _run():
        client = TMDbClient(key)
        try:
            return await client.get(req)
        finally:
            await client.aclose()

    return asyncio.run(_run())


def search(query: str) -> list[dict]:
    from shared.tmdb import images
    from shared.tmdb.client import TMDbClient

    data = _ask_tmdb(TMDbClient.search(query))
    out = []
    for r in data.get("results") or []:
        media = r.get("media_type")
        if media not in ("movie", "tv", "person", "company"):
            continue
        out.append({"id": r.get("id"), "mediaType": media, "title": r.get("title") or r.get("name") or "",
                    "backdrop": images.url(r.get("backdrop_path"), images.BACKDROP_SIZE),
                    "poster": images.url(r.get("poster_path"), images.POSTER_SIZE),
                    "profile": images.url(r.get("profile_path") or r.get("logo_path"), "w185"),
                    "releaseDate": r.get("release_date") or r.get("first_air_date") or None})
    return out


def image_pool(media_type: str, tmdb_id: int) -> dict:
    from shared.tmdb import images
    from shared.tmdb.client import TMDbClient, TMDbError

    try:
        return images.pool(_ask_tmdb(TMDbClient.images(media_type, tmdb_id)))
    except TMDbError as exc:
        if exc.status == 404:
            raise NotFound(f"TMDb has no {media_type} {tmdb_id}") from exc
        raise
