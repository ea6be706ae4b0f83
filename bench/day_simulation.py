"""24 simulated hours of Screndly on an accelerated clock, idle and with the default workload: per resource the
day's total, the free tier and the percentage, counted by the product's usage meter and independently (the
Redis server, the QStash emulator, Postgres' own statement log). The two must agree within 5 %.

Default workload: 20 feeds gaining ~2 items an hour each (about 1 in 32 mentions a trailer and passes the
feeds' filter: ~30 posts a day, each to X, Threads, Facebook and Pinterest, in dry-run), 5 videos uploaded and
transcoded by the media worker, the real comment automation polling every 10 minutes (YouTube connected, one
video of ours gaining a comment an hour, each answered with AI in dry-run; YouTube and OpenAI stood in for by
bench/_sim_comments.py), TMDb's daily and midday refreshes against the local TMDb fake (release-day and weekly
titles to X, each post a dispatcher item at its time), and the dashboard open 2 hours (09:00-11:00 UTC) polling
like the frontend (notifications 30 s, logs, stats and automation status 60 s, jobs 3 s while a video uploads).
Idle: no feed, nobody polling, comment replies switched off, no TMDb key, the worker waiting.

Targets: every resource <= 50 % of its free tier (default), <= 10 % (idle), Neon awake <= 6 h a day.

    python -m bench day_simulation          (SIM_HOURS=2 for a short run)

Live posting: SIM_SCENARIOS=default-live,default-live-staged runs the default workload with publishMode live,
the posts going to the platform fakes (tests/publishing_fakes) served on a real socket, with pre-staging off and
on (the comment replies go live too, to the stand-in's comments.insert, bench/_sim_comments.py); each prints the
"posts due" wake-ups and the awake hours, and how many posts the fakes accepted. Facebook accepts fewer than the
others by design: its daily quota (`dailyQuotaFacebook`, 25 by the frontend contract, against 50-100 elsewhere)
fills in the owner's local day, and place() (shared/rss/schedule.py) puts the rest on the next day, at the end of
its quiet hours; "RSS posts planned after the window" says so per platform (bench/_sim_posts.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

DAY = 86400.0
WARMUP = 2 * 3600.0
TOLERANCE = 5.0  # percent


def _requests_schedule(day: float, uploads: list[float]) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    start, end = day + 9 * 3600, day + 11 * 3600
    t = start
    while t < end:
        out.append((t, "/api/notifications"))
        if int(t - start) % 60 == 0:
            out += [(t + 1, "/api/logs?limit=50"), (t + 2, "/api/dashboard/stats"),
                    (t + 3, "/api/automation/status")]
        t += 30
    for u in uploads:
        out += [(u + 5 + 3 * i, "/api/jobs") for i in range(40)]
    return sorted(out)


def api_environment(stand_ins: dict[str, str], platform_fakes: dict[str, str],
                    scenario: dict[str, str]) -> dict[str, str]:
    """The API process' environment: the platform fakes' (live scenarios), the stand-ins (comments' YouTube and
    OpenAI, TMDb) over them, then the scenario's own. The fakes' environment (tests/publishing_fakes/world.py) names
    a YouTube host of its own that nothing serves here: over the stand-ins, it sent every comment poll of the live
    scenarios to a connection error, and they measured a day without the comment automation."""
    return {**platform_fakes, **stand_ins, **scenario}


def run(scenario: str, hours: float = 24.0, settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None) -> dict[str, Any]:
    import httpx

    from bench import _sim_comments
    from bench import _sim_day as sim
    from shared.local import services

    tmp = Path(tempfile.mkdtemp(prefix=f"screndly-day-{scenario}-"))
    default = scenario.startswith("default")
    day = (int(time.time() // DAY) + 1) * DAY  # the next UTC midnight: a whole UTC day, as the tiers count
    start = day - WARMUP
    stand_port = services.free_port()
    stand_ins: dict[str, str] = {}
    tmdb = None
    if default:
        # the comment automation's outside world (YouTube comments, OpenAI) and TMDb, stood in for locally
        stand_ins.update(_sim_comments.env(f"http://127.0.0.1:{stand_port}"))
        from datetime import datetime, timezone

        from shared.local.tmdb_fake import FAKE_KEY
        from shared.local.tmdb_fake import start as start_tmdb

        tmdb = start_tmdb(datetime.fromtimestamp(day, timezone.utc).date())[1]
        stand_ins.update({"TMDB_API_KEY": FAKE_KEY, "TMDB_API_BASE": tmdb.url, "TMDB_IMAGE_BASE": tmdb.url + "/t/p"})
    live = sim.LivePlatforms.start() if (env or {}).get("PUBLISH_MODE") == "live" else None
    # posts go to the platform fakes on a real socket (the API process routes to it)
    api_env = api_environment(stand_ins, live.env() if live is not None else {}, env or {})
    stack = sim.start_stack(tmp, api_env=api_env)
    clock, emulator = stack.clock, stack.backing.emulator
    if tmdb is not None:
        stack.stops.append(tmdb.stop)
    if live is not None:
        stack.stops.append(live.stop)
        live.connect()
    try:
        clock.jump_to(start - 600)
        work = sim.FeedWorkload()
        feeds = sim.SimFeeds(clock, work, origin=day - 2 * DAY).start()
        stack.stops.append(feeds.stop)
        from shared.security.tokens import issue_session_token

        http = httpx.Client(base_url=stack.api_url, timeout=120,
                            headers={"Authorization": f"Bearer {issue_session_token()[0]}"})
        sent: list[tuple[float, str]] = []

        def call(method: str, path: str, **kw) -> Any:
            r = http.request(method, path, **kw)
            sent.append((clock.time(), path))
            assert r.status_code < 300, (path, r.status_code, r.text[:300])
            return r.json().get("data")

        extra: dict[str, Any] = {}
        if default:
            stand = _sim_comments.CommentStandIns(clock.time, origin=start)
            stand_server = services.ServerThread(stand.app, port=stand_port).start()
            stack.stops.append(stand_server.stop)
            _sim_comments.connect(published_at=start)
            extra = {**_sim_comments.SETTINGS, **TMDB_SETTINGS}
        else:
            extra = {"commentRepliesActive": False}
        call("PUT", "/api/settings", json={"publishMode": "dry_run" if live is None else "live",
                                           "rssPinterestBoard": "sim-board" if live is None else live.board,
                                           "globalRSSPosting": True, **extra, **(settings or {})})
        if default:
            for n in range(work.feeds):
                call("POST", "/api/rss/feeds", json={
                    "url": f"{feeds.base}/feed/{n}.xml", "autoPost": True, "interval": 10,
                    "filters": {"required": [{"text": "trailer"}]},
                    "platformsEnabled": {"x": True, "threads": True, "facebook": True, "pinterest": True}})
        from shared.messaging import schedules

        schedules.sync()
        monitor = sim.RedisMonitor(stack.backing.redis_url).start()
        from media_worker.main import build_worker

        worker = build_worker()
        idle_wait, sweep = worker.s.idle_wait_seconds, worker.s.sweep_seconds
        clip = None
        uploads = [day + h * 3600 for h in (9 + 10 / 60, 9.5, 9 + 50 / 60, 10 + 10 / 60, 10.5)] if default else []
        events: list[tuple[float, str, Any]] = [(t, "get", p) for t, p in
                                                (_requests_schedule(day, uploads) if default else [])]
        events += [(u, "upload", i) for i, u in enumerate(uploads)]
        t = start
        while t < day + hours * 3600:
            events.append((t, "blpop", None))
            t += idle_wait
        # the worker's periodic usage flush (media_worker/main.py: every 6 h)
        events += [(start + k * 6 * 3600, "flush", None) for k in range(1, int((hours + 2) // 6) + 2)]
        events += [(start + k * sweep, "sweep", None) for k in range(1, int((hours * 3600 + WARMUP) // sweep) + 1)]
        # just before the window opens and closes: what happens at 00:00 itself belongs to the window's day
        events += [(day - 0.5, "snapshot", "start"), (day + hours * 3600 - 0.5, "snapshot", "end")]
        end = day + hours * 3600
        events = sorted((e for e in events if e[0] < end or e[1] == "snapshot"),
                        key=lambda e: (e[0], e[1] != "snapshot"))
        snaps: dict[str, dict] = {}
        worker_drains: list[float] = []
        from shared.usage import flush

        def drain() -> None:
            worker_drains.append(clock.time())
            worker.run(exit_when_idle=True)

        clock.jump_to(start)
        i = 0
        while i < len(events):
            sim.wait_quiet(emulator, clock)
            nxt_emu = sim.emulator_next(emulator, clock.time())
            at = events[i][0]
            if nxt_emu is not None and nxt_emu < at:
                clock.jump_to(nxt_emu)
                continue
            clock.jump_to(at)
            sim.wait_quiet(emulator, clock)
            _, kind, arg = events[i]
            i += 1
            if kind == "get":
                call("GET", arg)
            elif kind == "upload":
                if clip is None:
                    clip = _make_clip(tmp / "clip.mp4")
                stored = _upload(call, clip, arg)
                call("POST", "/api/jobs", json={"sourceKey": stored["key"], "presets": ["landscape_720p",
                                                                                       "thumbnail"]})
                if worker.waiter.wait(0.05):  # the blocked worker wakes on the token at once
                    drain()
            elif kind == "blpop":
                if worker.waiter.wait(0.01):
                    drain()
            elif kind == "sweep":
                drain()
            elif kind == "flush":
                flush.flush_now()
            elif kind == "snapshot":
                snaps[arg] = {"sim": clock.time(), "cmd": sim.commandstats(stack.backing.redis_url),
                              "published": emulator.state.published_count,
                              "cpu": sim.proc_cpu_seconds(stack.api_proc.pid)}
        sim.wait_quiet(emulator, clock)
        monitor.stop()
        sim.stop_api(stack)
        flush.flush_now()
        res = _measure(stack, snaps, sent, monitor, feeds, day, hours, scenario, worker_drains)
        if default:  # live scenarios send the replies there (dry runs send none)
            res["extra"]["YouTube replies the comment stand-in took (requests it refused)"] = (
                f"{sum(len(r) for r in stand.replies.values())} ({len(stand.refused)})")
        if live is not None:
            res["extra"]["posts the platform fakes accepted"] = live.accepted()
        return res
    finally:
        stack.stop()
        if os.environ.get("SIM_KEEP"):
            print(f"  (kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# TMDb in the default day: release-day and weekly titles posted to X (the daily refresh at 07:00 and the midday
# catch-up, both in the owner's timezone, are QStash schedules; each post is a dispatcher item at its time)
TMDB_SETTINGS = {"todayAutoPost": True, "weeklyAutoPost": True, "todayMaxItems": 5, "weeklyMaxItems": 5,
                 "todayPlatforms": {"x": True}, "weeklyPlatforms": {"x": True}}


def _make_clip(path: Path) -> Path:
    import subprocess

    from shared.media.ffmpeg.binary import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=30:duration=2", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=44100:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)], check=True, capture_output=True)
    return path


def _upload(call, clip: Path, n: int) -> dict:
    import httpx

    data = clip.read_bytes()
    plan = call("POST", "/api/uploads", json={"fileName": f"trailer-{n}.mp4", "contentType": "video/mp4",
                                              "size": len(data), "purpose": "trailers"})
    with httpx.Client(timeout=60) as browser:  # the browser PUTs straight to B2 (class A: free)
        assert browser.put(plan["url"], content=data, headers=plan["headers"]).status_code == 200
    return call("POST", f"/api/uploads/{plan['uploadId']}/complete", json={})


def _measure(stack, snaps, sent, monitor, feeds, day: float, hours: float, scenario: str,
             worker_drains: list[float]) -> dict[str, Any]:
    import psycopg

    from bench import _sim_day as sim
    from shared.usage import awake
    from shared.usage.flush import day_of, fold

    lo, hi = day, day + hours * 3600
    fold()
    url = stack.backing.env["DATABASE_URL"]
    sep = "&" if "?" in url else "?"
    with psycopg.connect(url + f"{sep}application_name={sim.HARNESS_APP}", autocommit=True) as conn:
        meter = {r[0]: float(r[1]) for r in conn.execute(
            "SELECT unit, amount FROM usage_counters WHERE day = %s", (day_of(int(day // DAY)),))}
        if os.environ.get("SIM_DEBUG"):
            for r in conn.execute("SELECT day, unit, amount FROM usage_counters ORDER BY day, unit"):
                print("   ", r)
        spans = [(float(a), float(b)) for a, b in conn.execute(
            "SELECT extract(epoch FROM started_at), extract(epoch FROM ended_at) FROM usage_pg_spans "
            "WHERE ended_at >= to_timestamp(%s) AND started_at < to_timestamp(%s)", (lo - 600, hi))]
        posts = dict(conn.execute("SELECT status, count(*) FROM rss_planned_posts GROUP BY status").fetchall())
        comments = dict(conn.execute("SELECT status, count(*) FROM comments GROUP BY status").fetchall())
        tmdb_posts = dict(conn.execute("SELECT status, count(*) FROM tmdb_posts GROUP BY status").fetchall())
        carried = {"rss planned posts": conn.execute(
            "SELECT count(*) FROM rss_planned_posts WHERE carried_by IS NOT NULL").fetchone()[0],
            "tmdb posts": conn.execute("SELECT count(*) FROM tmdb_posts WHERE carried_by IS NOT NULL").fetchone()[0]}
        items = dict(conn.execute("SELECT status, count(*) FROM rss_items WHERE status <> 'seen' "
                                  "GROUP BY status").fetchall())
        jobs = dict(conn.execute("SELECT state, count(*) FROM media_jobs GROUP BY state").fetchall())
        held = _held_past(conn, hi)
    meter_ivs = awake.intervals(spans)
    meter_awake = awake.seconds_within(meter_ivs, lo, hi)
    # Postgres' own log, mapped to simulated time
    stmts = [(stack.clock.to_sim(ts), app, q) for ts, app, q in sim.statement_times(stack.pg.log_path)
             if app != sim.HARNESS_APP]
    log_ivs = awake.intervals([(t, t) for t, _, _ in stmts])
    log_awake = awake.seconds_within(log_ivs, lo, hi)
    causes = _wake_causes(log_ivs, lo, hi, _window_causes(stack.tmp / "api.log"), sent, stack.backing.emulator,
                          worker_drains)
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    # statements the client sent through a cursor (the pool's empty liveness check included); a transaction's
    # BEGIN/COMMIT travel alongside its statements and are not counted by the meter
    log_queries = sum(1 for t, _, q in stmts if lo <= t < hi and not q.upper().startswith(control))
    # Redis: the server's MONITOR stream (top-level commands and script-inner ones) and INFO commandstats
    # the harness's own reads, and connection handshakes (the in-process worker reconnects after each drain,
    # where the real one connects once): not product commands
    skip = {"INFO", "MONITOR", "PING", "HELLO", "CLIENT", "SELECT", "AUTH"}
    mon = [(stack.clock.to_sim(ts), name, lua) for ts, name, lua in monitor.events if name not in skip]
    top = [e for e in mon if lo <= e[0] < hi and not e[2]]
    inner = sum(1 for e in mon if lo <= e[0] < hi and e[2])
    a, b = snaps["start"]["cmd"], snaps["end"]["cmd"]
    info_total = sum(b.get(k, 0) - a.get(k, 0) for k in b if k.upper() not in skip)
    # QStash: accepted messages (schedule firings included) and retried deliveries, from the emulator
    em = stack.backing.emulator.state
    deliveries = [d for d in em.deliveries if "status" in d and lo <= d.get("at", 0) < hi]
    retried = sum(1 for d in deliveries if d.get("retried", 0) > 0)
    qstash_indep = snaps["end"]["published"] - snaps["start"]["published"] + retried
    requests = sum(1 for t, _ in sent if lo <= t < hi)
    by_path: dict[str, int] = {}
    for d in deliveries:
        path = d["url"].split("/api/", 1)[-1]
        by_path[path] = by_path.get(path, 0) + 1
    by_script: dict[str, list[int]] = {}
    for t, label, is_inner in monitor.script_calls:
        if lo <= stack.clock.to_sim(t) < hi:
            runs_calls = by_script.setdefault(label, [0, 0])
            runs_calls[1 if is_inner else 0] += 1
    by_cmd: dict[str, int] = {}
    for _, name, _ in top:
        by_cmd[name] = by_cmd.get(name, 0) + 1
    cu = 0.25
    return {
        "scenario": scenario, "hours": hours,
        "rows": [
            # as Upstash bills: each command a script runs too (https://upstash.com/docs/redis/sdks/ratelimit-ts/costs)
            ("redis.commands", meter.get("redis.commands", 0), len(top) + inner, 500_000 / 30,
             "Redis MONITOR, scripts' commands included"),
            ("qstash.messages", meter.get("qstash.messages", 0), qstash_indep, 1000, "emulator accepted + retries"),
            ("neon awake hours", meter_awake / 3600, log_awake / 3600, 400 / 30, "Postgres statement log"),
            ("neon.cu_hours", meter_awake / 3600 * cu, log_awake / 3600 * cu, 100 / 30, "Postgres statement log"),
            ("fn.invocations", meter.get("fn.invocations", 0), len(deliveries) + requests, 1_000_000 / 30,
             "deliveries + requests sent"),
            ("fn.cpu_ms", meter.get("fn.cpu_ms", 0), (snaps["end"]["cpu"] - snaps["start"]["cpu"]) * 1000,
             4 * 3600 * 1000 / 30, "API process CPU (/proc)"),
            ("pg.queries", meter.get("pg.queries", 0), log_queries, None, "Postgres statement log"),
            ("b2.class_b", meter.get("b2.class_b", 0), None, 2500, ""),
            ("b2.class_c", meter.get("b2.class_c", 0), None, 2500, ""),
        ],
        "extra": {
            "redis INFO commandstats (scripts' commands included)": info_total,
            "redis MONITOR: top-level commands, scripts' commands": (len(top), inner),
            "the meter's own Redis commands (standalone flushes, folds)": _own(monitor, stack.clock, lo, hi,
                                                                               len(top)),
            "neon wake-ups (meter / log)": (awake.wake_ups(meter_ivs, lo, hi), awake.wake_ups(log_ivs, lo, hi)),
            "what woke the database (minutes awake)": causes,
            "deliveries by route": dict(sorted(by_path.items(), key=lambda kv: -kv[1])),
            "redis top-level commands": dict(sorted(by_cmd.items(), key=lambda kv: -kv[1])[:8]),
            "redis scripts (by first key): runs / inner calls": {
                k: f"{r} / {c}" for k, (r, c) in sorted(by_script.items(), key=lambda kv: -kv[1][1])[:12]},
            "planned posts": posts, "RSS posts planned after the window (bench/_sim_posts.py)": held,
            "items": items, "media jobs": jobs, "comments": comments,
            "tmdb posts": tmdb_posts, "carried ahead (staging/ahead.py)": carried,
            "feed fetches (304)": f"{feeds.fetches} ({feeds.not_modified})",
            "counters": {k: v for k, v in meter.items()
                         if not k.startswith(("redis.", "qstash.", "fn.", "pg.", "b2."))},
        },
    }


# what shared/rss/schedule.py PostingRules.from_settings reads
POSTING_KEYS = ("timezone", "rssPostingInterval", "dailyQuotaX", "dailyQuotaThreads", "dailyQuotaFacebook",
                "dailyQuotaPinterest", "quietHoursEnabled", "quietHoursStart", "quietHoursEnd",
                "rssEventDrivenPosting", "postAlignMinutes")


def _held_past(conn, end: float) -> dict[str, str]:
    """Per platform, the RSS posts the posting rules put after the window's end, and why (a platform the fakes
    accepted fewer posts on than the others, Facebook with its daily quota of 25, says so here)."""
    from datetime import datetime, timezone

    from psycopg.rows import dict_row

    from bench._sim_posts import held_past
    from shared.rss.schedule import PostingRules
    from shared.settings.store import read_settings

    rows = conn.execute("SELECT platform, status, scheduled_at FROM rss_planned_posts").fetchall()
    with conn.cursor(row_factory=dict_row) as cur:  # the settings store reads rows by column name
        rules = PostingRules.from_settings(read_settings(POSTING_KEYS, conn=cur))
    return held_past([tuple(r) for r in rows], rules, datetime.fromtimestamp(end, timezone.utc))


def _own(monitor, clock, lo: float, hi: float, total: int) -> str:
    own = [k for t, k in monitor.meter_own if lo <= clock.to_sim(t) < hi]
    flushes, folds = own.count("flush"), own.count("fold")
    return f"{flushes + folds} ({flushes} flushes, {folds} fold commands) = {(flushes + folds) / max(total, 1):.1%}"


def _window_causes(api_log: Path) -> list[tuple[float, str]]:
    out = []
    for line in api_log.read_text(errors="replace").splitlines():
        if line.startswith("screndly.dispatch dispatch window @"):
            at, _, cause = line.split("@", 1)[1].partition(" ")
            out.append((float(at), cause))
    return out


def _classify(cause: str) -> str:
    if cause.startswith("requested"):
        return "an item to post now (urgent processing)"
    due = set(cause.removeprefix("due: ").split(", "))
    if "rss.post" in due and "rss.process" not in due:
        return "posts due"
    if "rss.process" in due:
        return "changed feeds (processing window)"
    if due & {"rss.housekeeping", "usage.housekeeping"}:
        return "housekeeping"
    if "comments.run" in due:
        return "comment poll (new comments, or the 6-hourly full poll)"
    if "tmdb.post" in due:
        return "TMDb posts due"
    if due == {"publishing.staging"}:
        return "staged posts written back"
    return ", ".join(sorted(due))


def _wake_causes(ivs, lo: float, hi: float, windows, sent, emulator, drains) -> dict[str, float]:
    """What started each awake interval, and the minutes it stayed awake: a dispatcher window (and why), the
    dashboard or an upload (requests the harness sent), the media worker, a schedule."""
    out: dict[str, float] = {}
    deliveries = [(d.get("at", 0), d.get("url", "")) for d in emulator.state.deliveries if "status" in d]
    for a, b in ivs:
        if not (lo <= a < hi):
            continue
        near = lambda t, a=a: a - 3 <= t <= a + 3  # noqa: E731
        cause = next((_classify(c) for t, c in windows if near(t)), None)
        if cause is None and any(near(t) for t, p in sent):
            path = next(p for t, p in sent if near(t))
            cause = "video upload" if "upload" in path or "jobs" in path else "dashboard open"
        if cause is None and any(near(t) for t in drains):
            cause = "media worker (job or safety poll)"
        if cause is None:
            routes = sorted({u.split("/api/", 1)[-1] for t, u in deliveries if near(t)}) or ["?"]
            cause = "schedule " + " + ".join(routes)
        out[cause] = round(out.get(cause, 0) + (min(b, hi) - a) / 60, 1)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def report(res: dict[str, Any], target: float) -> list[str]:
    scale = res["hours"] / 24.0
    lines = [(f"--- {res['scenario']}: {res['hours']:g} simulated hours "
             f"(free tier pro-rated per day; target <= {target:.0f} % of it)"),
             (f"{'resource':18} {'meter':>12} {'independent':>12} {'diff':>7} {'free/day':>10} {'% tier':>7}  "
             f"verdict   independent source")]
    ok = True
    for name, m, ind, tier, source in res["rows"]:
        diff = "" if ind is None else ("0.0%" if not ind and not m else
                                       f"{(m - ind) / max(ind, 1e-9) * 100:+.1f}%")
        pct = None if not tier else m / (tier * scale) * 100
        agree = ind is None or name == "fn.cpu_ms" or abs(m - ind) <= max(ind, m) * TOLERANCE / 100 + 1
        within = pct is None or pct <= target
        if name == "neon awake hours":
            within = within and m <= 6 * scale
        verdict = ("ok" if within and agree else ("OVER" if not within else "DIFF"))
        ok = ok and verdict == "ok"
        lines.append(f"{name:18} {m:12,.1f} {'' if ind is None else f'{ind:12,.1f}':>12} {diff:>7} "
                     f"{'' if not tier else f'{tier:10,.0f}':>10} {'' if pct is None else f'{pct:6.1f}%':>7}  "
                     f"{verdict:8}  {source}")
    for k, v in res["extra"].items():
        lines.append(f"  {k}: {v}")
    lines.append(f"  => {'all targets met' if ok else 'a target or an agreement check FAILED'}")
    return lines


LIVE = {"PUBLISH_MODE": "live"}
SCENARIOS: dict[str, tuple[float, dict[str, Any], dict[str, str]]] = {
    "idle": (10.0, {}, {}),
    "default": (50.0, {}, {}),
    # baselines in the same run: posts at their exact times instead of on the 10-minute post grid; and posts
    # aligned to full hours (the governor's "batchPosts" lever at its coarsest)
    "default-exact-times": (50.0, {"postAlignMinutes": 0}, {}),
    "default-posts-hourly": (50.0, {"postAlignMinutes": 60}, {}),
    # the default workload posting for real (to the platform fakes on a socket; dry runs are never staged), with
    # pre-staging off and on: what carrying RSS and TMDb posts ahead (shared/publishing/staging/ahead.py) saves
    "default-live": (50.0, {}, {**LIVE, "PUBLISH_STAGING": "0"}),
    # its Redis is a private process that keeps nothing on disk and has no replica, so no durability gate (as in
    # the tests); against Upstash the gate adds one WAIT per staged send and per write-back within the grace
    "default-live-staged": (50.0, {}, {**LIVE, "PUBLISH_STAGING": "1", "PUBLISH_STAGE_DURABILITY": "none"}),
}
# what `make bench` runs unless SIM_SCENARIOS says otherwise (the live pair: SIM_SCENARIOS=default-live,...)
DEFAULT_SCENARIOS = ("idle", "default", "default-exact-times", "default-posts-hourly")


def main() -> None:
    hours = float(os.environ.get("SIM_HOURS", "24"))
    wanted = [s.strip() for s in os.environ.get("SIM_SCENARIOS", ",".join(DEFAULT_SCENARIOS)).split(",")
              if s.strip()]
    t0 = time.perf_counter()
    for scenario in wanted:
        target, settings, env = SCENARIOS[scenario]
        res = run(scenario, hours, settings, env)
        print("\n".join(report(res, target)))
        print(f"  ({time.perf_counter() - t0:.0f} s of real time so far)")


if __name__ == "__main__":
    main()
