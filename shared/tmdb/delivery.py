"""A scheduled TMDb post goes out: the delayed message arrives, the post is re-read, and each of its platforms is
published through `shared.publishing.gateway` (idempotency key `tmdb:<post>:<platform>`).

- A message for a post that no longer exists, has a newer version, or is not `scheduled` any more does nothing.
- The post is marked `publishing` in the same transaction that checked it, so a second delivery of the same
  message (QStash is at-least-once) finds it busy; the gateway's key makes a repeat publish return the first
  outcome instead of posting again.
- Platforms that fetch media themselves get our B2 copy of the image (images.rehost), made once per post.
- The post ends `published` when at least one platform took it (a failed one is named in errorMessage, as the
  old backend did), `failed` when none did. A platform still settling (rate limit, processing) keeps the post
  `publishing` until the engine's settle listener (`on_publication_settled`) reports it. A platform recorded
  failed as *unconfirmed* is updated when the engine's re-checks later settle it (`_settle_late`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from shared.db.rows import one
from shared.tmdb import ledger, repo

if TYPE_CHECKING:
    from shared.activity import Level

log = logging.getLogger("screndly.tmdb.delivery")

_FINAL = {"published": "posted", "dry_run": "dry_run", "failed": "failed", "unconfirmed": "failed"}


def _tmdb_link(post: dict) -> str:
    return f"https://www.themoviedb.org/{post['media_type']}/{post['tmdb_id']}"


def _image_for(post: dict, platform: str, rehost_setting: bool) -> tuple[str | None, str | None]:
    """(url for this platform, new rehosted url to remember or None)."""
    from shared.tmdb import images

    src = post.get("image_url")
    if not src or not images.needs_rehost(platform, rehost_setting):
        return src, None
    if post.get("rehosted_url"):
        return post["rehosted_url"], None
    try:
        url = images.rehost(src)
        return url, url
    except Exception as exc:  # TMDb's CDN is public: the platform can still fetch the original
        log.warning("rehosting %s failed: %s", src, exc)
        return src, None


def deliver(post_id: str, version: int) -> dict[str, Any]:
    from shared.db import transaction
    from shared.settings.store import read_settings

    with transaction() as conn:
        post = repo.get(conn, post_id, for_update=True)
        if post is None:
            return {"stale": True, "why": "the post no longer exists"}
        if post["version"] != version:
            return {"stale": True, "why": f"the post changed (version {post['version']} != {version})"}
        if post["status"] != "scheduled":
            return {"stale": True, "why": f"the post is {post['status']}"}
        if not post["platforms"]:
            row = repo.update(conn, post_id, {"status": "failed", "error_message": "no platform selected"})
            ledger.mark(conn, post_id, "failed", "no platform selected")
            _log(conn, "error", f"failed: {post['title']} (no platform selected)", row)
            return {"status": "failed", "why": "no platform selected"}
        post = one(repo.update(conn, post_id, {"status": "publishing"}, bump=False))  # read under lock above
        rehost_setting = bool(read_settings(["rehostImages"], conn=conn).get("rehostImages", True))
    results: dict[str, Any] = dict(post.get("platform_results") or {})
    for platform in post["platforms"]:
        if (results.get(platform) or {}).get("status") in ("posted", "dry_run"):
            continue  # a retried delivery: this platform is done
        results[platform] = _publish_one(post, platform, rehost_setting)
    return _settle(post_id, results)


def publish_request(post: dict, platform: str, rehost_setting: bool):
    """What one platform of a post publishes, resolved from the post as it is now: the delivery at the slot and
    the carry ahead (carry_ahead) both build it here, under the same idempotency key."""
    from shared.publishing.gateway import PublishRequest
    from shared.rss.textlength import shorten

    image, new_rehost = _image_for(post, platform, rehost_setting)
    if new_rehost:
        from shared.db import connection

        post["rehosted_url"] = new_rehost
        with connection() as conn:
            conn.execute("UPDATE tmdb_posts SET rehosted_url = %s WHERE id = %s", (new_rehost, post["id"]))
    content = {"text": shorten(post["caption"] or post["title"], platform), "title": post["title"][:100],
               "link": _tmdb_link(post), "imageUrls": [image] if image else []}
    return PublishRequest(idempotency_key=f"tmdb:{post['id']}:{platform}", platform=platform, content=content,
                          source="tmdb", source_ref=str(post["id"]))


def _publish_one(post: dict, platform: str, rehost_setting: bool) -> dict[str, Any]:
    from shared.publishing.gateway import publish

    request = publish_request(post, platform, rehost_setting)
    try:
        outcome = publish(request)
    except Exception as exc:  # the engine itself failed: record it, never retry a publish blindly
        log.exception("publish failed for TMDb post %s on %s", post["id"], platform)
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500], "at": _now_iso()}
    return result_of(outcome)


def result_of(outcome) -> dict[str, Any]:
    d = outcome.details or {}
    if outcome.status in ("scheduled", "skipped"):
        return {"status": "waiting", "publicationId": d.get("publicationId"), "scheduledAt": d.get("scheduledAt"),
                "error": outcome.error}
    status = _FINAL.get(outcome.status, "failed")
    error = outcome.error
    if outcome.status == "unconfirmed":
        error = "unconfirmed: the platform did not confirm the post; check it before posting again" + (
            f" ({outcome.error})" if outcome.error else "")
    return {"status": status, "id": outcome.platform_post_id, "url": outcome.url, "error": error,
            "kind": d.get("kind"), "publicationId": d.get("publicationId"), "dryRun": outcome.status == "dry_run",
            "at": (outcome.posted_at or datetime.now(timezone.utc)).isoformat()}


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _settle(post_id: str, results: dict[str, Any]) -> dict[str, Any]:
    """Write the platform results; when none is still waiting, the post's final state (once)."""
    from shared import activity
    from shared.db import transaction

    with transaction() as conn:
        post = repo.get(conn, post_id, for_update=True)
        # a carried post (carry_ahead) is still `scheduled` when its first platform settles: it is publishing now
        carried = post is not None and post["status"] == "scheduled" and bool(post.get("carried_by"))
        if post is not None and post["status"] in ("published", "failed"):
            return _settle_late(conn, post, results)
        if post is None or (post["status"] != "publishing" and not carried):
            return {"status": post["status"] if post else "deleted", "results": results}
        merged = _merge_results(post.get("platform_results") or {}, results)
        waiting = [p for p in post["platforms"] if (merged.get(p) or {}).get("status") == "waiting"
                   or p not in merged]
        if waiting:
            repo.update(conn, post_id, {"platform_results": merged, "status": "publishing"}, bump=False)
            _log(conn, "info", f"waiting on {', '.join(waiting)}: {post['title']}", post)
            return {"status": "publishing", "waiting": waiting, "results": merged}
        ok, failed, errors = _summary(post["platforms"], merged)
        dry = all(merged[p].get("dryRun") for p in ok) if ok else False
        final = "published" if ok else "failed"
        row = repo.update(conn, post_id, {"status": final, "platform_results": merged, "error_message": errors,
                                          "published_at": datetime.now(timezone.utc) if ok else None}, bump=True)
        ledger.mark(conn, post_id, final)
        for p in post["platforms"]:
            r = merged[p]
            verb = {"posted": "posted", "dry_run": "dry run: recorded (not sent)", "failed": "failed"}[r["status"]]
            _log(conn, "error" if r["status"] == "failed" else "info",
                 f"{verb} on {p}: {post['title']}" + (f" ({r.get('error')})" if r.get("error") else ""), row,
                 {"platform": p, "status": r["status"]})
        title = post["title"][:80]
        if ok:
            activity.notify("warning" if failed else "success",
                            ("Posted" if not dry else "Dry run recorded") + f": {title}",
                            f"Failed on {', '.join(failed)}: {errors}" if failed else "", source="tmdb",
                            action_page="tmdb", conn=conn)
        else:
            activity.notify("error", f"TMDb post failed: {title}", errors or "", source="tmdb", action_page="tmdb",
                            conn=conn)
    return {"status": final, "results": merged, "dryRun": dry}


def _word(result: dict[str, Any]) -> int:
    """How settled a result is: waiting, unconfirmed, then final (posted, failed with a cause, dry run)."""
    if result.get("status") == "waiting":
        return 0
    return 1 if _unconfirmed(result) else 2


def _merge_results(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The stored platform results with the incoming ones, except where both speak of the same publication and
    the stored one is more settled: a delivery records what it saw when it published every platform, and the
    engine's settle listener may have recorded a later outcome of one of them in between (pure)."""
    merged = dict(stored)
    for platform, new in incoming.items():
        old = stored.get(platform) or {}
        same = bool(new.get("publicationId")) and old.get("publicationId") == new.get("publicationId")
        if not (same and _word(old) > _word(new)):
            merged[platform] = new
    return merged


def _summary(platforms: list[str], merged: dict[str, Any]) -> tuple[list[str], list[str], str | None]:
    """(platforms that took the post, platforms that failed, the errors as errorMessage says them)."""
    ok = [p for p in platforms if (merged.get(p) or {}).get("status") in ("posted", "dry_run")]
    failed = [p for p in platforms if (merged.get(p) or {}).get("status") == "failed"]
    return ok, failed, "; ".join(f"{p}: {merged[p].get('error') or 'failed'}" for p in failed) or None


def _unconfirmed(result: dict | None) -> bool:
    return result is not None and result.get("status") == "failed" and str(result.get("error") or "").startswith(
        "unconfirmed:")


def _settle_late(conn, post: dict, results: dict[str, Any]) -> dict[str, Any]:
    """A final post hears about a platform again: only a platform recorded failed as *unconfirmed* changes, when
    the engine's re-checks later settle it (found on the platform: posted; proven absent: failed with the proof).
    Without this the owner would see "failed, check it before posting again" for a post that is live, and might
    post it a second time by hand. Anything else (a repeat, a platform already settled) changes nothing."""
    from shared import activity

    before = post.get("platform_results") or {}
    late = {p: r for p, r in results.items()
            if p in post["platforms"] and _unconfirmed(before.get(p))
            and (r.get("status") == "posted" or (r.get("status") == "failed" and not _unconfirmed(r)))}
    if not late:
        return {"status": post["status"], "results": before}
    merged = {**before, **late}
    ok, _, errors = _summary(post["platforms"], merged)
    final = "published" if ok else "failed"
    fields: dict[str, Any] = {"status": final, "platform_results": merged, "error_message": errors}
    if ok and not post.get("published_at"):
        fields["published_at"] = datetime.now(timezone.utc)
    row = repo.update(conn, str(post["id"]), fields, bump=True)
    if final != post["status"]:
        ledger.mark(conn, str(post["id"]), final)
    title = post["title"][:80]
    for p, r in late.items():
        if r["status"] == "posted":
            _log(conn, "info", f"found on {p} after all: {post['title']}", row, {"platform": p, "status": "posted"})
            activity.notify("success", f"Posted after all: {title}",
                            f"{p} confirmed the post it had not confirmed at first", source="tmdb",
                            action_page="tmdb", conn=conn)
        else:
            _log(conn, "error", f"not posted on {p}: {post['title']} ({r.get('error') or 'failed'})", row,
                 {"platform": p, "status": "failed"})
    return {"status": final, "results": merged}


def _log(conn, level: Level, message: str, post: dict | None, extra: dict | None = None) -> None:
    from shared import activity

    meta = {"postId": str(post["id"]), "tmdbId": post["tmdb_id"], "mediaType": post["media_type"],
            "source": post["source"]} if post else {}
    activity.log("tmdb", level, message, {**meta, **(extra or {})}, conn=conn)


def on_publication_settled(source: str, source_ref: str | None, platform: str, publication: dict) -> None:
    """The engine's settle listener (registered in shared/tmdb/__init__.py)."""
    from shared.publishing.gateway import outcome_of

    key = str(publication.get("idempotency_key") or "").removeprefix("dry_run:")
    if source != "tmdb" or not source_ref or key != f"tmdb:{source_ref}:{platform}":
        return
    _settle(source_ref, {platform: result_of(outcome_of(publication, platform, "settled"))})


STUCK_AFTER_MINUTES = 15


def reconcile_publishing(limit: int = 20) -> int:
    """Safety net for a settle the listener missed (a worker that never imported shared.tmdb, a crash between
    publishing and recording): posts `publishing` for a while ask the publications table how each platform
    ended. A platform with no publication at all never reached the gateway: it is recorded as failed with a
    note, never re-posted blindly. Run by every refresh."""
    from shared.db import connection
    from shared.publishing.engine.publications import TERMINAL
    from shared.publishing.gateway import outcome_of

    with connection() as conn:
        # publishing for a while, or carried ahead (carry_ahead) and its slot long past
        stuck = conn.execute(
            "SELECT id, platforms, platform_results FROM tmdb_posts WHERE updated_at < now() - %s::interval "
            "AND (status = 'publishing' OR (status = 'scheduled' AND carried_by IS NOT NULL "
            "AND scheduled_at < now() - %s::interval)) ORDER BY updated_at LIMIT %s",
            (f"{STUCK_AFTER_MINUTES} minutes", f"{STUCK_AFTER_MINUTES} minutes", limit)).fetchall()
        n = 0
        for post in stuck:
            keys = {p: f"tmdb:{post['id']}:{p}" for p in post["platforms"]}
            rows = conn.execute("SELECT * FROM publications WHERE idempotency_key = ANY(%s)",
                                ([*keys.values(), *(f"dry_run:{k}" for k in keys.values())],)).fetchall()
            by_key = {str(r["idempotency_key"]).removeprefix("dry_run:"): r for r in rows}
            results: dict[str, Any] = {}
            for platform, key in keys.items():
                pub = by_key.get(key)
                if pub is None:
                    results[platform] = {"status": "failed", "at": _now_iso(),
                                         "error": "the delivery stopped before publishing; nothing was sent"}
                elif pub.get("state") in TERMINAL:
                    results[platform] = result_of(outcome_of(pub, platform, "settled"))
            if results:
                _settle(str(post["id"]), results)
                n += 1
            else:  # still in the engine's hands: look again later
                conn.execute("UPDATE tmdb_posts SET updated_at = now() WHERE id = %s", (post["id"],))
    return n


# --- carried ahead (PUBLISH_STAGING; shared/publishing/staging/ahead.py) --------------------------------------
# A scheduled post due within the staging horizon whose every platform can be pre-staged gets its publications
# created and staged in an awake window; the post stays `scheduled` (what the owner sees) with carried_by =
# {platform: publication id}, and its `tmdb.post` item is disarmed: the slot wakes no database, and the settle
# listener settles the post (`publishing` at the first platform's outcome, then published or failed). A post with
# a platform that cannot be staged (YouTube, an expiring token, a failing validation) is not carried at all: its
# delivery at the slot publishes every platform, as with staging off. Owner edits and deletes release the stages
# first (409 while one is being sent), then give the post back to its delivery (`uncarry`).
CARRY_BATCH = 50


def carry_ahead(horizon_seconds: float, lead_seconds: float) -> dict[str, int]:
    """The staging window's provider: carry the scheduled posts due within the horizon (oldest first)."""
    from shared import clock
    from shared.db import connection
    from shared.publishing.staging.eligibility import TARGETS

    now = clock.now()  # the application's clock, as the deliveries judge "due" (the simulation moves it)
    with connection() as conn:
        rows = conn.execute(
            "SELECT id FROM tmdb_posts WHERE status = 'scheduled' AND carried_by IS NULL "
            "AND cardinality(platforms) > 0 AND platforms <@ %s::text[] "
            "AND scheduled_at > %s AND scheduled_at <= %s ORDER BY scheduled_at LIMIT %s",
            (list(TARGETS), now + timedelta(seconds=lead_seconds), now + timedelta(seconds=horizon_seconds),
             CARRY_BATCH)).fetchall()
    from shared.publishing.staging import ahead

    return ahead.carry_each("tmdb", "postId", [str(r["id"]) for r in rows], carry_one)


def carry_one(post_id: str) -> str | None:
    """Carry one scheduled post (all its platforms, or none): None when handed over, else why it stays on its own
    delivery at the slot."""
    from shared.db import connection, transaction
    from shared.publishing.staging import ahead
    from shared.settings.store import read_settings

    with connection() as conn:
        post = repo.get(conn, post_id)
        rehost_setting = bool(read_settings(["rehostImages"], conn=conn).get("rehostImages", True))
    if post is None or post["status"] != "scheduled" or post.get("carried_by") or not post["scheduled_at"]:
        return "no longer scheduled"
    carried: dict[str, str] = {}
    for platform in post["platforms"]:
        pub_id, why = ahead.carry(publish_request(dict(post), platform, rehost_setting), post["scheduled_at"])
        if pub_id is None:
            _withdraw_unless_theirs(post_id, carried)
            return f"{platform}: {why}"
        carried[platform] = pub_id
    handed = False
    with transaction() as conn:
        now_post = repo.get(conn, post_id, for_update=True)
        # every publication still staged: another window's carrier that failed may have withdrawn one it adopted
        staged = one(conn.execute("SELECT count(*) AS n FROM publications WHERE id = ANY(%s::uuid[]) AND state = "
                                  "'staged'", (list(carried.values()),)).fetchone())["n"]
        if (now_post is not None and now_post["status"] == "scheduled" and not now_post.get("carried_by")
                and staged == len(carried)
                and now_post["updated_at"] == post["updated_at"] and now_post["scheduled_at"] == post["scheduled_at"]
                and list(now_post["platforms"]) == list(post["platforms"])):
            # updated_at is left as it is: an owner's edit (which moves it) between the read above and this
            # transaction is caught by the comparison, one after it finds the post carried
            conn.execute("UPDATE tmdb_posts SET carried_by = %s WHERE id = %s", (repo._json(carried), post_id))
            slot = post["scheduled_at"].astimezone(timezone.utc).isoformat()
            _log(conn, "info", f"pre-staged on {', '.join(post['platforms'])}: {post['title']} (goes out {slot})",
                 post, {"publicationIds": carried})
            handed = True
        elif now_post is None or not (now_post["status"] == "publishing" or now_post.get("carried_by")):
            # the owner changed it meanwhile: their change wins. Withdrawn under the post's lock, as
            # _withdraw_unless_theirs does: a delivery that took the post right after this commit would otherwise
            # find these publications and wait on them while they are deleted
            ahead.withdraw(list(carried.values()))
            return "changed meanwhile"
    if not handed:
        # another window handed it over, or its delivery ran and found these very publications: theirs now
        return "carried or delivered meanwhile"
    from shared.tmdb.dispatch import KIND

    ahead.disarm(KIND, post_id)  # an item left behind delivers it: every platform finds its publication by key
    return None


def _withdraw_unless_theirs(post_id: str, carried: dict[str, str]) -> None:
    """A carry that failed on one platform withdraws the publications it holds for the others, unless the post is
    carried (another window handed it over to these very publications: one per key) or being delivered (its
    delivery waits on them). Under the post's lock, so a hand-over waits and then finds them gone."""
    from shared.db import transaction
    from shared.publishing.staging import ahead

    if not carried:
        return
    with transaction() as conn:
        now_post = repo.get(conn, post_id, for_update=True)
        if now_post is not None and (now_post["status"] == "publishing" or now_post.get("carried_by")):
            return
        ahead.withdraw(list(carried.values()))


def release_carried(post: dict, what: str) -> list[str]:
    """Before an owner's change to a carried post: cancel its stages (409 while one is being sent; nothing was
    changed). Returns the publications released."""
    from shared.publishing.staging import ahead

    pubs = [str(v) for v in (post.get("carried_by") or {}).values()]
    if not pubs:
        return []
    return ahead.release(pubs, "tmdb", what, {"postId": str(post["id"]), "tmdbId": post["tmdb_id"]})


def uncarry(conn, post: dict, what: str) -> bool:
    """Inside the owner's transaction, the post locked: delete its carried publications (still planned: nothing
    was sent) and give it back to its delivery at the slot. False when it was not carried. A publication staged or
    publishing again meanwhile raises a 409 (ahead.CarriedChanged): the transaction rolls back."""
    from shared.publishing.staging import ahead

    pubs = [str(v) for v in (post.get("carried_by") or {}).values()]
    if not pubs:
        return False
    ahead.drop(conn, pubs, "tmdb", what, {"postId": str(post["id"]), "tmdbId": post["tmdb_id"]})
    conn.execute("UPDATE tmdb_posts SET carried_by = NULL WHERE id = %s", (post["id"],))
    post["carried_by"] = None
    return True


class ModeChange:
    """The settings save's guard for publishMode (see shared/settings/service.py SAVE_GUARDS): whether a post is
    sent or only recorded is decided at delivery, so every carried post goes back to its delivery first (its
    stages released before the save: 409 while one is being sent)."""

    def __init__(self):
        from shared.db import connection

        with connection() as conn:
            self.posts = conn.execute("SELECT id, tmdb_id, carried_by FROM tmdb_posts WHERE status = 'scheduled' "
                                      "AND carried_by IS NOT NULL ORDER BY id").fetchall()
        self.released: list[str] = []
        for post in self.posts:
            self.released += release_carried(post, "publish mode changed")
        self.back: list[dict] = []

    def in_transaction(self, conn) -> None:
        for post in self.posts:
            row = repo.get(conn, str(post["id"]), for_update=True)
            if row is not None and row["status"] == "scheduled" and uncarry(conn, row, "publish mode changed"):
                self.back.append(row)

    def failed(self) -> None:
        from shared.publishing.staging import ahead

        ahead.keep_at_slot(self.released)

    def after(self) -> None:
        from shared.tmdb import dispatch

        dispatch.arm(self.back)


def settings_guard(patch: dict) -> ModeChange | None:
    from shared.settings.store import read_setting

    if (patch.get("publishMode") or "") == (read_setting("publishMode") or ""):
        return None  # not changed (a client echoing it back)
    return ModeChange()
