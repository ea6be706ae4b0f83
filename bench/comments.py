"""What the comments schedule costs per day, counted the way the free tiers count: Upstash Redis commands, QStash
messages, Postgres queries and database wake-ups (ticks that ran at least one query: each wakes a suspended Neon
compute). The schedule fires every 10 minutes (144 a day); a simulated clock runs a whole day of ticks through the
real route (signature check included) in a few seconds.

Rows: nothing switched on (the idle day); switched on but nothing connected yet (the default settings of a fresh
install: the switch re-checks the connections hourly); one platform active with no new comments (a platform fake
answers); baseline, same run: the idle day with the poll behind run-once only and no switch, which is what every
tick would cost without it.

Run: `python -m bench.comments` (a private local stack; never the configured services).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Iterator

TICKS_PER_DAY = 144  # */10 * * * *
TICK_SECONDS = 600


class Clock:
    def __init__(self, start: float):
        self.now = start

    def time(self) -> float:
        return self.now


class QueryCounter:
    """Counts statements sent to Postgres (psycopg cursor executes), the unit Neon's wake-ups follow."""

    def __init__(self):
        self.total = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator["QueryCounter"]:
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


def _day(app, backing, queries: QueryCounter, clock: Clock, loop, tick) -> dict[str, float]:
    """A day of ticks; `tick(i)` fires one. Returns the day's totals."""
    backing.redis_counter.reset()
    queries.total = 0
    wakeups = 0
    for i in range(TICKS_PER_DAY):
        clock.now += TICK_SECONDS
        before = queries.total
        tick(i)
        wakeups += queries.total > before
    return {"redis": backing.redis_counter.total, "qstash": TICKS_PER_DAY, "queries": queries.total,
            "wakeups": wakeups}


def main() -> None:
    import respx

    from bench._backing import asgi_request, private_backing

    with private_backing() as backing:
        from shared.api.app import create_app
        from shared.comments import switch
        from shared.local.qstash_emulator import sign
        from shared.settings.service import update_settings

        app = create_app(["comments"])
        loop = asyncio.new_event_loop()
        path = "/api/internal/comments/poll"
        url = backing.env["PUBLIC_BASE_URL"] + path
        key = backing.env["QSTASH_CURRENT_SIGNING_KEY"]
        import time

        clock = Clock(time.time())
        switch.time = clock  # the switch's clock: hourly re-checks and the poll interval follow the simulated day
        queries = QueryCounter()

        def fire(i: int) -> None:
            headers = {"Upstash-Signature": sign(b"{}", url, key), "Upstash-Message-Id": f"msg_{clock.now}_{i}",
                       "Content-Type": "application/json"}
            status, body = asgi_request(app, "POST", path, headers, loop, b"{}")
            assert status == 200, body[:300]

        rows = []
        with queries.installed():
            update_settings({"commentRepliesActive": False})
            rows.append(("idle: nothing switched on", _day(app, backing, queries, clock, loop, fire)))

            update_settings({"commentRepliesActive": True})  # defaults: X and Instagram on, nothing connected
            rows.append(("switched on, nothing connected (defaults)", _day(app, backing, queries, clock, loop,
                                                                         fire)))

            # one platform connected and ready, its API answering "no new comments"
            from shared.publishing.connections import store

            store.save("youtube", "UC123", store.Tokens(access_token="yt-token", scopes=[
                "https://www.googleapis.com/auth/youtube.force-ssl"]), username="screndly", profile_url=None,
                metadata={})
            from shared.db import connection

            with connection() as c:
                c.execute("""INSERT INTO publications (idempotency_key, platform, family, source, content, state,
                                 platform_post_id, published_at)
                             VALUES ('bench-yt', 'youtube', 'youtube', 'compose', '{}', 'published', 'vid1', now())""")
            update_settings({"openaiKey": "sk-bench", "xCommentBlacklist": {"active": False},
                             "instagramCommentBlacklist": {"active": False},
                             "youtubeCommentBlacklist": {"active": True, "pauseOldPosts": False}})
            calls = {"n": 0}

            def threads_api(request):
                import httpx

                calls["n"] += 1
                return httpx.Response(200, json={"kind": "youtube#commentThreadListResponse", "items": [],
                                                 "pageInfo": {"totalResults": 0, "resultsPerPage": 100}})

            with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
                router.route(host="127.0.0.1").pass_through()
                router.route(host="localhost").pass_through()
                router.get(url__regex=r".*/youtube/v3/commentThreads.*").mock(side_effect=threads_api)
                active = _day(app, backing, queries, clock, loop, fire)
            active["api"] = calls["n"]
            rows.append(("active: YouTube, no new comments", active))

            # baseline: the idle day again, with the poll behind run-once alone (no Redis switch in front)
            update_settings({"commentRepliesActive": False})
            from shared.comments import service
            from shared.messaging.receiver import Delivery, run_once

            def bare(i: int) -> None:
                delivery = Delivery(message_id=f"base_{clock.now}_{i}", retried=0, schedule_id="comments-poll",
                                    body=b"{}", signature_id=f"jti_{clock.now}_{i}")
                run_once(delivery, lambda: service.poll().as_dict())

            rows.append(("baseline: idle, no switch (run-once + poll)", _day(app, backing, queries, clock, loop,
                                                                           bare)))
        loop.close()

    print(f"{TICKS_PER_DAY} ticks a day (*/10); per day, counted at the Upstash bridge and the psycopg cursor")
    print(f"{'state':46} {'redis cmds':>10} {'qstash msgs':>11} {'db queries':>10} {'db wake-ups':>11}  notes")
    for name, r in rows:
        note = f"platform API calls {r['api']}/day" if "api" in r else ""
        print(f"{name:46} {r['redis']:>10} {r['qstash']:>11} {r['queries']:>10} {r['wakeups']:>11}  {note}")
    idle, base = rows[0][1], rows[-1][1]
    print(f"idle day vs baseline: {idle['redis']} vs {base['redis']} Redis commands, {idle['queries']} vs "
          f"{base['queries']} queries, {idle['wakeups']} vs {base['wakeups']} database wake-ups")
    print(json.dumps({"idle": idle}))


if __name__ == "__main__":
    main()
