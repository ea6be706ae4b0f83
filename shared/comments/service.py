"""Comment automation, end to end: the poll, one reply, the owner's test reply, stats and readiness.

The poll (every `commentPollInterval` minutes, behind the Redis switch):
1. settings, connections and poll state in one checkout; reply publications that ended elsewhere are reconciled;
2. per ready platform: our posts younger than the platform's pause (default 24 h), the comments on them since the
   last poll (read budget checked and charged), stored once per (platform, comment id), filtered (a skip keeps
   its reason);
3. per platform, within the reply frequency, throttle, daily cap and the platform's ceilings: the oldest waiting
   comments get an AI reply, each posted as a publication keyed `comment-reply:<platform>:<comment id>` through
   the publishing gateway, so no comment is answered twice whatever fails or repeats;
4. the switch and the poll time are written back to Redis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from shared import activity, clock
from shared.comments import caps, repo
from shared.comments.config import ALL_PLATFORMS, SETTING_KEYS, SUPPORTED, CommentSettings
from shared.comments.filters import Candidate, decide
from shared.comments.readiness import DISPLAY, ConnectionFacts, assess
from shared.db import connection
from shared.errors import Conflict, NotFound, ValidationFailed

logger = logging.getLogger("screndly.comments")

READ_OVERLAP = timedelta(minutes=10)  # comments can surface in an API a little after their timestamp
POLL_TIME_BUDGET_S = 200.0  # of Vercel's 300 s: what is left waits for the next poll
MAX_AI_ATTEMPTS = 3


@dataclass
class PollReport:
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)
    reconciled: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"platforms": self.platforms, "reconciled": self.reconciled}


def _now() -> datetime:
    return clock.now()  # real time; a simulation shifts it


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except Exception:  # an unknown zone name in settings: the owner still gets UTC days
        return ZoneInfo("UTC")


def day_start(tz_name: str, now: datetime) -> datetime:
    """The owner's midnight (their `timezone` setting), in UTC."""
    local = now.astimezone(_zone(tz_name))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def reply_key(platform: str, comment_id: str) -> str:
    return f"comment-reply:{platform}:{comment_id}"


def _settings(c) -> CommentSettings:
    from shared.settings.store import read_settings

    return CommentSettings.from_settings(read_settings(SETTING_KEYS, conn=c))


def _account(platform: str):
    from shared.publishing.adapters.base import Account
    from shared.publishing.connections.refresh import ensure_fresh

    conn = ensure_fresh(platform)
    return Account(platform=conn.platform, account_id=conn.account_id, access_token=conn.access_token,
                   username=conn.username, metadata=conn.metadata, extra=conn.extra)


def _http(platform: str, account):
    from shared.config import get_config
    from shared.publishing.adapters.http import PlatformHttp, shared_client
    from shared.publishing.engine import ratelimit

    cfg = get_config()
    return PlatformHttp(shared_client(cfg.publish_http_timeout_seconds), token=account.access_token,
                        retry_base=cfg.publish_retry_base_seconds,
                        on_exhausted=lambda reset: ratelimit.remember(platform, account.account_id, reset, "account"))


def _candidate(row: dict, conn: ConnectionFacts | None) -> Candidate:
    return Candidate(text=row["text"], author_id=row.get("author_id"), author_name=row.get("author_name"),
                     commented_at=row["commented_at"], post_published_at=row.get("post_published_at"),
                     our_account_id=conn.account_id if conn else None, our_username=conn.username if conn else None)


def _reply_url(platform: str, post_id: str | None, reply_id: str | None, url: str | None) -> str | None:
    if url or not reply_id:
        return url
    if platform == "youtube" and post_id:
        return f"https://www.youtube.com/watch?v={post_id}&lc={reply_id}"
    return None


# --- the poll ----------------------------------------------------------------------------------------------

def poll(now: datetime | None = None, time_budget_s: float = POLL_TIME_BUDGET_S,
         record: Callable[[dict[str, Any], float], None] | None = None, *, count_run: bool = True) -> PollReport:
    """One poll. `record(switch, at)` keeps the switch and the poll's time (default: straight to Redis; the
    dispatcher's kind passes its own, so they ride the tick's commit). `count_run`: count it in `comments.runs`
    (the dispatcher's look counted it already when it asked for this poll).

    Each platform's `replies` says how many comments still wait (`waiting`) and, when a calendar limit holds them,
    when it lifts (`resumeAt`, epoch): the dispatcher arms the next poll for them."""
    from shared.comments import switch
    from shared.usage import meter

    started = time.monotonic()
    now = now or _now()
    report = PollReport()
    with connection() as c:
        cs = _settings(c)
        conns = repo.connections(c)
        report.reconciled = repo.reconcile(c)
        states = repo.poll_states(c)
    state = switch.state_from(cs, conns, clock.time())
    for platform in state["platforms"]:
        report.platforms[platform] = _isolated(platform, "reading", lambda p=platform: _read_platform(
            p, cs, conns[p], states.get(p) or {}, now))
    for platform in state["platforms"]:
        remaining = time_budget_s - (time.monotonic() - started)
        if remaining <= 0:
            with connection() as c:
                waiting = repo.count_pending(c, platform)
            report.platforms[platform]["replies"] = {"deferred": "the poll's time budget is spent",
                                                     "waiting": waiting, "resumeAt": clock.time()}
            continue
        report.platforms[platform]["replies"] = _isolated(
            platform, "replying", lambda p=platform, left=remaining: _reply_batch(
                p, cs, conns[p], states.get(p) or {}, now, time.monotonic() + left))
    (record or switch.polled)(state, clock.time())
    if count_run:
        meter.count("comments.runs")
    meter.gauge("comments.last_run", clock.time())
    _log_poll(report)
    return report


def _isolated(platform: str, step: str, fn) -> dict[str, Any]:
    """One platform's failure (an answer we cannot parse, a bug) must not stop the others or fail the poll."""
    try:
        return fn()
    except Exception as exc:
        logger.exception("comments: %s %s failed", step, platform)
        return {"error": f"{step} failed: {type(exc).__name__}: {exc}"[:500]}


def _log_poll(report: PollReport) -> None:
    new = sum(p.get("new", 0) for p in report.platforms.values())
    sent = sum((p.get("replies") or {}).get("sent", 0) for p in report.platforms.values())
    errors = {k: p.get("error") or p["replies"]["error"] for k, p in report.platforms.items()
              if p.get("error") or (p.get("replies") or {}).get("error")}
    if new or sent or errors or any(report.reconciled.values()):
        activity.log("comments", "warn" if errors else "info",
                     f"comment poll: {new} new comment(s), {sent} repl{'y' if sent == 1 else 'ies'} sent"
                     + (f"; errors on {', '.join(errors)}" if errors else ""), report.as_dict())


def _read_platform(platform: str, cs: CommentSettings, conn: ConnectionFacts, state: dict,
                   now: datetime) -> dict[str, Any]:
    from shared.comments import fetch
    from shared.comments.fetch.base import ReadContext
    from shared.publishing.engine import ratelimit
    from shared.publishing.engine.errors import AuthFailed, PublishError, RateLimitedError

    out: dict[str, Any] = {"fetched": 0, "new": 0, "skipped": 0}
    until = ratelimit.blocked_until(platform, conn.account_id)
    if until:
        out["paused"] = f"rate limited until {datetime.fromtimestamp(until, timezone.utc).isoformat()}"
        return out
    unit = caps.READ_UNIT[platform]
    period = caps.period(unit, now)
    horizon = now - timedelta(hours=cs.rules(platform).post_age_hours)
    with connection() as c:
        spent = repo.used(c, platform, unit, period)
        posts = repo.recent_posts(c, platform, horizon)
    blocked = caps.read_blocked(platform, cs, spent)
    if blocked:
        out["paused"] = blocked
        return out
    if not posts:
        with connection() as c:
            repo.save_poll(c, platform, polled_at=now, cursor=None, error=None)
        out["posts"] = 0
        return out
    last = state.get("last_polled_at")
    since = max(horizon, last - READ_OVERLAP) if last else horizon
    error: str | None = None
    found: list = []
    ctx = None
    try:
        account = _account(platform)
        ctx = ReadContext(platform, account, _http(platform, account), posts, since,
                          budget=caps.read_budget_left(platform, cs, spent), cursor=dict(state.get("cursor") or {}))
        found = fetch.read(ctx)
    except RateLimitedError as exc:
        ratelimit.remember(platform, conn.account_id, exc.reset_at, exc.scope)
        error = exc.message
    except AuthFailed as exc:
        from shared.publishing.connections.refresh import mark_needs_reconnect

        mark_needs_reconnect(platform, exc.message)
        error = exc.message
    except PublishError as exc:
        error = exc.message
    out["posts"] = len(posts)
    out["fetched"] = len(found)
    with connection() as c:
        if ctx is not None:
            repo.charge(c, platform, unit, period, ctx.spent)
        new = repo.insert_new(c, platform, found, {p.post_id: p for p in posts})
        skips = []
        for row in new:
            skip = decide(_candidate(row, conn), cs.rules(platform), usernames=cs.usernames, keywords=cs.keywords,
                          now=now)
            if skip:
                skips.append((str(row["id"]), skip.code, skip.reason))
        repo.mark_skipped(c, skips)
        complete = error is None and ctx is not None and not ctx.exhausted
        repo.save_poll(c, platform, polled_at=now if complete else None,
                       cursor=ctx.cursor if (ctx is not None and error is None) else None, error=error)
    out.update(new=len(new), skipped=len(skips))
    if ctx is not None:
        out["spent"] = {unit: ctx.spent}
        if ctx.exhausted:
            out["paused"] = "the read budget ran out before every post was read"
    if error:
        out["error"] = error
        logger.info("reading %s comments failed: %s", platform, error)
    return out


def _usage(c, platform: str, cs: CommentSettings, state: dict, now: datetime) -> caps.ReplyUsage:
    u = repo.reply_usage(c, platform, day_start(cs.timezone, now))
    units = repo.used(c, "youtube", "youtube_units", caps.period("youtube_units", now)) if platform == "youtube" else 0
    return caps.ReplyUsage(last_hour=u["last_hour"], today=u["today"], last_24h=u["last_24h"],
                           youtube_units_today=units, last_batch_at=state.get("last_reply_batch_at"))


def _reply_batch(platform: str, cs: CommentSettings, conn: ConnectionFacts, state: dict, now: datetime,
                 deadline: float) -> dict[str, Any]:
    with connection() as c:
        allow = caps.reply_allowance(platform, cs, _usage(c, platform, cs, state, now), now)
        rows = repo.pending(c, platform, allow.count) if allow.count > 0 else []
        if allow.count <= 0:
            waiting = repo.count_pending(c, platform)
            if waiting and allow.next_at is None and repo.first_notice(
                    c, platform, "cap", day_start(cs.timezone, now).date().isoformat()):
                why = allow.reason or "a reply cap is reached"
                activity.notify("info", f"{DISPLAY[platform]} comment replies paused",
                                f"{why[:1].upper()}{why[1:]}; {waiting} comment(s) wait for the "
                                "next window.", source="comment", action_page="comments", conn=c)
            resume = allow.resume_at.timestamp() if allow.resume_at else None
            return {"sent": 0, "waiting": waiting, "paused": allow.reason, "resumeAt": resume}
        if rows:
            repo.save_batch(c, platform, now)
    out: dict[str, Any] = {"sent": 0, "failed": 0, "skipped": 0}
    for row in rows:
        if time.monotonic() > deadline:
            out["deferred"] = "the poll's time budget is spent"
            out["resumeAt"] = clock.time()
            break
        skip = decide(_candidate(row, conn), cs.rules(platform), usernames=cs.usernames, keywords=cs.keywords,
                      now=_now())
        if skip:  # e.g. the post aged past the pause while the comment waited for a window
            with connection() as c:
                repo.mark_skipped(c, [(str(row["id"]), skip.code, skip.reason)])
            out["skipped"] += 1
            continue
        res = reply_one(row, cs)
        if res.get("status") in ("replied", "dry_run", "replying"):
            out["sent"] += 1
        elif res.get("status") in ("failed", "unconfirmed"):
            out["failed"] += 1
    if rows:  # more than this batch could take (a cap, the time budget): the dispatcher comes back for them
        with connection() as c:
            out["waiting"] = repo.count_pending(c, platform)
            if out["waiting"] and "resumeAt" not in out:
                # the limit this batch reached, counted again with its replies: when does it lift?
                batch_state = {**state, "last_reply_batch_at": now}
                after = caps.reply_allowance(platform, cs, _usage(c, platform, cs, batch_state, _now()), _now())
                if after.count <= 0 and after.resume_at is not None:
                    out["resumeAt"] = after.resume_at.timestamp()
    return out


# --- one reply ---------------------------------------------------------------------------------------------

def reply_one(row: dict, cs: CommentSettings, *, test: bool = False, text: str | None = None) -> dict[str, Any]:
    """Compose (unless a reply was already written for this comment) and post one reply through the gateway."""
    from shared.comments.ai import ReplyUnavailable, write_reply
    from shared.publishing.gateway import PublishRequest, publish

    platform, comment_id = row["platform"], row["comment_id"]
    key = reply_key(platform, comment_id)
    states = ("pending", "skipped", "failed") if test else ("pending",)
    with connection() as c:
        claimed = repo.claim(c, str(row["id"]), states, test=test)
        if claimed is None:
            current = repo.get(c, str(row["id"]))
            return {"status": (current or {}).get("status", "missing"), "busy": True}
        earlier = repo.existing_reply(c, key)
    reply = (earlier or {}).get("text") or text or claimed.get("reply_text")
    if not reply:
        try:
            reply = write_reply(cs, platform=platform, comment=claimed["text"], author=claimed.get("author_name"),
                                post_text=claimed.get("post_text"))
        except ReplyUnavailable as exc:
            give_up = int(claimed.get("attempts") or 0) + 1 >= MAX_AI_ATTEMPTS
            with connection() as c:
                repo.release(c, str(claimed["id"]), f"no reply written: {exc}", give_up=give_up)
                activity.log("comments", "warn", f"could not write a reply to a comment on {DISPLAY[platform]}: {exc}",
                             {"commentId": comment_id, "platform": platform, "gaveUp": give_up}, conn=c)
                if give_up:
                    activity.notify("error", f"{DISPLAY[platform]} comment left unanswered",
                                    f"No reply could be written after {MAX_AI_ATTEMPTS} tries: {exc}",
                                    source="comment", action_page="comments", conn=c)
            return {"status": "failed" if give_up else "pending", "error": str(exc)}
    with connection() as c:
        repo.set_reply_text(c, str(claimed["id"]), reply)
        if platform == "youtube":  # comments.insert costs 50 units whether or not its answer reaches us
            repo.charge(c, "youtube", "youtube_units", caps.period("youtube_units", _now()), caps.YOUTUBE_INSERT_COST)
    out = publish(PublishRequest(idempotency_key=key, platform=f"{platform}_comment_reply",
                                 content={"text": reply, "replyToId": comment_id, "postId": claimed["post_id"]},
                                 source="comment", source_ref=str(claimed["id"])))
    publication = {"id": out.details.get("publicationId"), "state": out.details.get("state"),
                   "platform_post_id": out.platform_post_id,
                   "url": _reply_url(platform, claimed["post_id"], out.platform_post_id, out.url),
                   "published_at": out.posted_at, "last_error": out.error}
    settled = _settle(str(claimed["id"]), publication)
    row_now = settled or {}
    status = row_now.get("status") or {"published": "replied"}.get(out.status, out.status)
    if out.status in ("scheduled", "skipped"):
        status = "replying"
    return {"status": status, "commentId": comment_id, "reply": reply, "publicationId": publication["id"],
            "replyId": out.platform_post_id, "url": publication["url"], "error": out.error,
            **({"kind": out.details.get("kind")} if out.details.get("kind") else {})}


def _settle(comment_row_id: str, publication: dict) -> dict | None:
    """Mirror the publication onto the comment; tell the owner (once) when a reply failed. An unconfirmed reply
    is already announced by the publishing engine (one notification per publication), so not twice here."""
    with connection() as c:
        changed = repo.settle(c, comment_row_id, publication)
        current = changed or repo.get(c, comment_row_id)
        if changed and changed["status"] == "failed":
            name = DISPLAY.get(changed["platform"], changed["platform"])
            who = f"@{changed['author_name']}" if changed.get("author_name") else "a comment"
            activity.notify("error", f"{name} comment reply failed",
                            f"The reply to {who} was not posted: {changed.get('error') or 'unknown error'}",
                            source="comment", action_page="comments", conn=c)
        if changed and changed["status"] == "unconfirmed":
            activity.log("comments", "warn", f"a reply to a comment on {DISPLAY.get(changed['platform'], '?')} is "
                         "unconfirmed; it will not be sent again", {"commentId": changed["comment_id"]}, conn=c)
        if changed and changed["status"] in ("replied", "dry_run"):
            verb = "dry run: would reply" if changed["status"] == "dry_run" else "replied"
            activity.log("comments", "info", f"{verb} to a comment on {DISPLAY.get(changed['platform'], '?')}",
                         {"commentId": changed["comment_id"], "replyId": changed.get("reply_id"),
                          "url": changed.get("reply_url"), "test": changed.get("test_reply")}, conn=c)
    return current


def on_reply_settled(source: str, source_ref: str | None, platform: str, publication: dict) -> None:
    """Settle listener: a reply publication reached a final state, wherever it was settled."""
    from shared.errors import uuid_or_not_found

    if not source_ref:
        return
    try:
        ref = uuid_or_not_found(source_ref)
    except NotFound:
        return
    row = dict(publication)
    fam = platform.replace("_comment_reply", "")
    with connection() as c:
        comment = repo.get(c, ref)
    if comment is None:
        return
    row["url"] = _reply_url(fam, comment["post_id"], row.get("platform_post_id"), row.get("url"))
    _settle(ref, row)


# --- the owner's test reply --------------------------------------------------------------------------------

def test_reply(comment_row_id: str, *, text: str | None = None, preview: bool = False) -> dict[str, Any]:
    """Reply to one chosen comment now (frequency and throttle do not apply; a platform's ceilings do).
    `preview` writes the reply and shows it without posting anything."""
    from shared.comments.ai import ReplyUnavailable, reply_limit, write_reply
    from shared.errors import uuid_or_not_found

    ref = uuid_or_not_found(comment_row_id, "comment")
    now = _now()
    with connection() as c:
        row = repo.get(c, ref)
        if row is None:
            raise NotFound("comment not found", details={"id": comment_row_id})
        cs = _settings(c)
        conn = repo.connections(c).get(row["platform"])
        states = repo.poll_states(c)
        usage = _usage(c, row["platform"], cs, states.get(row["platform"]) or {}, now)
    platform = row["platform"]
    if row["status"] in ("replying", "replied", "dry_run", "unconfirmed"):
        raise Conflict("this comment already has a reply; a comment is never answered twice",
                       details={"status": row["status"], "reply": row.get("reply_text"), "url": row.get("reply_url")})
    r = assess(platform, cs, conn)
    blocking = [x for x in r.reasons if "switched off" not in x and "are off for" not in x
                and not (text and "OpenAI" in x)]
    if blocking:
        raise ValidationFailed("; ".join(blocking), code="NOT_READY", details={"reasons": blocking})
    if text is not None:
        text = text.strip()
        if not text:
            raise ValidationFailed("text must not be empty")
    if preview:
        try:
            reply = text or write_reply(cs, platform=platform, comment=row["text"], author=row.get("author_name"),
                                        post_text=row.get("post_text"))
        except ReplyUnavailable as exc:
            from shared.errors import UpstreamError

            raise UpstreamError(f"no reply could be written: {exc}") from exc
        return {"preview": True, "reply": reply, "limit": reply_limit(platform, cs), "commentId": row["comment_id"]}
    allow = caps.reply_allowance(platform, cs, usage, now, manual=True)
    if allow.count <= 0:
        raise Conflict(f"cannot reply now: {allow.reason}", details={"reason": allow.reason})
    res = reply_one(row, cs, test=True, text=text)
    if res.get("busy"):
        raise Conflict("this comment is being answered right now", details={"status": res.get("status")})
    return res


# --- reports -----------------------------------------------------------------------------------------------

def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def stats() -> list[dict[str, Any]]:
    now = _now()
    with connection() as c:
        cs = _settings(c)
        rows = repo.stats(c, day_start(cs.timezone, now), now - timedelta(hours=max(cs.retention_hours, 24)))
    out = []
    for p in ALL_PLATFORMS:
        r = rows.get(p) or {}
        ok, bad = int(r.get("ok") or 0), int(r.get("bad") or 0)
        out.append({
            "platform": DISPLAY[p], "key": p, "enabled": cs.enabled(p),
            "repliesToday": int(r.get("replies_today") or 0),
            # of the replies attempted in the retention window, the share that was posted (100 with none yet)
            "successRate": round(100.0 * ok / (ok + bad), 1) if ok + bad else 100.0,
            "recentReplies": [{"id": str(x["id"]), "comment": x["text"], "reply": x["reply_text"],
                               "time": _iso(x["replied_at"]), "author": x["author_name"], "url": x["reply_url"],
                               **({"dryRun": True} if x["status"] == "dry_run" else {})}
                              for x in r.get("recent") or []],
            "pending": int(r.get("pending") or 0), "skippedToday": int(r.get("skipped_today") or 0),
        })
    return out


def readiness_report() -> list[dict[str, Any]]:
    """Every platform's readiness; refreshes the poll's switch on the way (the Comments page calls this)."""
    from shared.comments import switch
    from shared.publishing.engine import ratelimit

    now = _now()
    with connection() as c:
        cs = _settings(c)
        conns = repo.connections(c)
        spent = {p: repo.used(c, p, caps.READ_UNIT[p], caps.period(caps.READ_UNIT[p], now)) for p in SUPPORTED
                 if cs.enabled(p) and p in conns}
    out = []
    for p in ALL_PLATFORMS:
        paused: list[str] = []
        conn = conns.get(p)
        if p in spent and conn is not None:
            blocked = caps.read_blocked(p, cs, spent[p])
            if blocked and not (p == "x" and caps.x_tier_problem(cs.x_tier)):
                paused.append(blocked)
            until = ratelimit.blocked_until(p, conn.account_id)
            if until:
                paused.append(f"rate limited until {datetime.fromtimestamp(until, timezone.utc).isoformat()}")
        out.append(assess(p, cs, conn, paused).as_dict())
    state = switch.state_from(cs, conns, clock.time())
    switch.store(state)
    if state["platforms"]:  # e.g. just connected: poll at the next grid point instead of the hourly look
        from shared.comments import timing

        timing.rearm(state)
    return out


def list_comments(*, platform: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
    with connection() as c:
        rows = repo.list_comments(c, platform=platform, status=status, limit=limit)
    return [{"id": str(r["id"]), "platform": DISPLAY.get(r["platform"], r["platform"]), "key": r["platform"],
             "commentId": r["comment_id"], "postId": r["post_id"], "author": r["author_name"], "text": r["text"],
             "commentedAt": _iso(r["commented_at"]), "status": r["status"], "skipReason": r["skip_reason"],
             "skipCode": r["skip_code"], "reply": r["reply_text"], "replyUrl": r["reply_url"],
             "repliedAt": _iso(r["replied_at"]), "error": r["error"], "test": r["test_reply"]} for r in rows]
