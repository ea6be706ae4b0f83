"""What the comment automation costs per day, counted the way the free tiers count: Upstash Redis commands,
QStash messages, Postgres queries and database wake-ups (ticks that ran at least one query: each wakes a
suspended Neon compute). The poll is a dispatcher kind (shared/comments/timing.py); a simulated clock runs a
whole day of dispatcher ticks in-process in a few seconds: the hourly safety-net tick, and every wake-up the
dispatcher arms.

Rows (all measured in this run):
- baseline: the poll's old `*/10` QStash schedule with nothing switched on (144 firings of the signed route);
- the dispatcher's idle day without the comment kinds, and with them (nothing switched on): the difference is
  what comments cost idle;
- switched on but nothing connected (a fresh install's defaults: the switch is re-checked hourly);
- YouTube ready, a video of ours, no new comments (YouTube answers "nothing new" through a mock): peeks only;
- the same with a new comment every hour: peeks, and full polls in windows.

Run: `python -m bench.comments` (a private local stack; never the configured services).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

DAY = 86400.0


class QueryCounter:
    """Counts statements sent to Postgres (psycopg cursor executes), the unit Neon's wake-ups follow."""

    def __init__(self):
        self.total = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[QueryCounter]:
        import psycopg

        real = psycopg.Cursor.execute
        counter = self

        def counting(cur, *a, **kw):
            counter.total += 1
            return real(cur, *a, **kw)

        psycopg.Cursor.execute = counting
        try:
            yield self
        finally:
            psycopg.Cursor.execute = real


def _reset_dispatcher(start: float) -> None:
    """A clean dispatcher whose other kinds' bootstrap work is done (RSS mirror, housekeeping armed far away)."""
    from shared.redis_client import get_redis
    from shared.scheduling import dispatch

    r = get_redis()
    r.delete(dispatch.DUE_KEY, dispatch.META_KEY, "comments:mirror")
    far = repr(start + 10 * DAY)
    r.hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far})


DAYS = {"n": 0}


def _dispatcher_day(backing, queries: QueryCounter, first: float, setup: Callable[[float], None]) -> dict[str, float]:
    """24 h of dispatcher ticks: every full hour (the safety net) and every wake-up armed in between. Each row
    runs on a day of its own (QStash deduplicates a wake-up by its time)."""
    from shared import clock
    from shared.scheduling import dispatch

    DAYS["n"] += 1
    start = first + DAYS["n"] * DAY
    clock.set_offset(start - time.time())
    _reset_dispatcher(start)
    setup(start)
    backing.redis_counter.reset()
    queries.total = 0
    published = backing.emulator.state.published_count
    ticks = wakeups = 0
    now = start
    while True:
        armed = min(dispatch.pending().values(), default=None)
        hour = dispatch.next_safety_fire(now)
        nxt = hour if armed is None else min(hour, max(armed, now + 1))
        if nxt >= start + DAY:
            break
        clock.set_offset(nxt + 0.5 - time.time())
        before = queries.total
        dispatch.tick()
        ticks += 1
        wakeups += queries.total > before
        now = nxt + 0.5
    clock.set_offset(None)
    return {"redis": backing.redis_counter.total, "qstash": backing.emulator.state.published_count - published,
            "queries": queries.total, "wakeups": wakeups, "ticks": ticks}


def main() -> None:
    import httpx
    import respx

    from bench._backing import asgi_request, private_backing

    with private_backing() as backing:
        from shared.api.app import create_app
        from shared.local.qstash_emulator import sign
        from shared.scheduling import dispatch
        from shared.settings.service import update_settings

        dispatch.kinds()
        start = (int(time.time() // DAY) + 1) * DAY
        queries = QueryCounter()
        rows: list[tuple[str, dict[str, float]]] = []
        with queries.installed():
            # baseline: the old */10 schedule's firings of the signed route, nothing switched on
            update_settings({"commentRepliesActive": False})
            app = create_app(["comments"])
            loop = asyncio.new_event_loop()
            path = "/api/internal/comments/poll"
            url, key = backing.env["PUBLIC_BASE_URL"] + path, backing.env["QSTASH_CURRENT_SIGNING_KEY"]
            backing.redis_counter.reset()
            queries.total = 0
            for i in range(144):
                headers = {"Upstash-Signature": sign(b"{}", url, key), "Upstash-Message-Id": f"msg_base_{i}",
                           "Content-Type": "application/json"}
                status, body = asgi_request(app, "POST", path, headers, loop, b"{}")
                assert status == 200, body[:300]
            loop.close()
            rows.append(("baseline: own */10 QStash schedule, idle", {
                "redis": backing.redis_counter.total, "qstash": 144, "queries": queries.total, "wakeups": 0,
                "ticks": 144}))

            # the dispatcher's idle day without the comment kinds, then with them
            kinds = {k: v for k, v in dispatch._KINDS.items() if k.startswith("comments.")}
            hooks = [h for h in dispatch._HOOKS if h.__module__ == "shared.comments.timing"]
            for k in kinds:
                del dispatch._KINDS[k]
            for h in hooks:
                dispatch._HOOKS.remove(h)
            rows.append(("dispatcher idle day, no comment kinds", _dispatcher_day(
                backing, queries, start, lambda s: None)))
            dispatch._KINDS.update(kinds)
            dispatch._HOOKS.extend(hooks)
            from shared.comments import switch, timing

            def switched(on: bool) -> Callable[[float], None]:
                def setup(s: float) -> None:
                    update_settings({"commentRepliesActive": on})
                    timing.rearm(switch.rebuild())  # what the save's hook does when the value changes
                return setup

            rows.append(("dispatcher idle day, comments switched off", _dispatcher_day(
                backing, queries, start, switched(False))))
            rows.append(("switched on, nothing connected (defaults)", _dispatcher_day(
                backing, queries, start, switched(True))))

            # YouTube connected and ready, one video of ours; its API answering through a mock
            from bench import _sim_comments

            comments_every: dict[str, float | None] = {"s": None, "start": start}

            def youtube(request):
                from shared import clock

                now, origin, every = clock.time(), comments_every["start"] or 0.0, comments_every["s"]
                items = []
                if every:
                    latest = int((now - origin) // every)
                    for k in range(latest, max(-1, latest - 5), -1):
                        at = datetime.fromtimestamp(origin + k * every + 1, timezone.utc)
                        items.append({"id": f"t{k}", "snippet": {"videoId": _sim_comments.VIDEO, "topLevelComment": {
                            "id": f"c{k}", "snippet": {"videoId": _sim_comments.VIDEO, "textOriginal": f"Question {k}?",
                                                      "authorDisplayName": f"Fan {k}",
                                                      "publishedAt": at.isoformat().replace("+00:00", "Z")}}}})
                return httpx.Response(200, json={"kind": "youtube#commentThreadListResponse", "items": items})

            def chat(request):
                return httpx.Response(200, json={"choices": [{"message": {"content": "Thanks for watching!"}}],
                                                 "usage": {"prompt_tokens": 100, "completion_tokens": 8}})

            def ready(s: float) -> None:
                from shared.db import connection

                comments_every["start"] = s
                with connection() as c:
                    c.execute("DELETE FROM publications WHERE idempotency_key = 'sim-video'")
                _sim_comments.connect(published_at=s)
                update_settings({**_sim_comments.SETTINGS, "publishMode": "dry_run"})
                timing.rearm(switch.rebuild())

            with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
                router.route(host="127.0.0.1").pass_through()
                router.route(host="localhost").pass_through()
                router.get(url__regex=r".*/youtube/v3/commentThreads.*").mock(side_effect=youtube)
                router.post(url__regex=r".*/chat/completions").mock(side_effect=chat)
                rows.append(("YouTube ready, no new comments", _dispatcher_day(backing, queries, start, ready)))
                comments_every["s"] = 3600.0
                rows.append(("YouTube ready, a new comment an hour", _dispatcher_day(backing, queries, start,
                                                                                     ready)))

    print("per day, counted at the Upstash bridge, the QStash emulator and the psycopg cursor; dispatcher ticks "
          "at every full hour (the rss-tick safety net, there anyway) and every armed wake-up")
    print(f"{'state':46} {'ticks':>6} {'redis cmds':>10} {'qstash msgs':>11} {'db queries':>10} {'db wake-ups':>11}")
    for name, r in rows:
        print(f"{name:46} {r['ticks']:>6} {r['redis']:>10} {r['qstash']:>11} {r['queries']:>10} {r['wakeups']:>11}")
    base, without, idle = rows[0][1], rows[1][1], rows[2][1]
    print(f"idle day, comments' own cost: {idle['redis'] - without['redis']} Redis commands, "
          f"{idle['qstash'] - without['qstash']} QStash messages, {idle['queries'] - without['queries']} queries "
          f"(baseline, own schedule: {base['redis']} Redis commands, {base['qstash']} QStash messages, "
          f"{base['queries']} queries)")
    print(json.dumps({"idle": {k: idle[k] - without[k] for k in ("redis", "qstash", "queries", "wakeups")}}))


if __name__ == "__main__":
    main()
