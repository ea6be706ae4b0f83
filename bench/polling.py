"""p50/p95 of the two polled endpoints, GET /api/notifications (every 30 s) and GET /api/logs (every 60 s),
in-process through the ASGI app, with 10,000 rows in each table. Target: p95 < 15 ms.

Baseline, same run: the bare SQL each endpoint runs, through the same pooled connection, so the table shows
what the framework, auth and serialisation add on top of the database. Redis commands per request are counted
through the bridge (polls must cost none: the JWT is checked locally).
"""

from __future__ import annotations

import asyncio
import statistics
import time

ROWS = 10_000
WARMUP = 30
SAMPLES = 300
TARGET_P95_MS = 15.0


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _seed(conn) -> None:
    conn.execute("INSERT INTO activity_logs (service, level, message, metadata, created_at) "
                 "SELECT (ARRAY['rss','tmdb','media','auth','publishing'])[1 + g %% 5], "
                 "(ARRAY['debug','info','warn','error'])[1 + g %% 4], 'log row ' || g || ': ' || repeat('x', 80), "
                 "jsonb_build_object('feed', 'Variety', 'item', g), now() - g * interval '10 seconds' "
                 "FROM generate_series(1, %s) g", (ROWS,))
    conn.execute("INSERT INTO notifications (type, title, message, source, read, created_at) "
                 "SELECT (ARRAY['success','error','info','warning'])[1 + g %% 4], 'Notification ' || g, "
                 "'Posted to X and Threads: ' || repeat('y', 60), 'rss', g %% 3 = 0, now() - g * interval '10 seconds' "
                 "FROM generate_series(1, %s) g", (ROWS,))
    conn.execute("ANALYZE activity_logs")
    conn.execute("ANALYZE notifications")


def _time(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    from bench._backing import asgi_get, private_backing

    with private_backing() as backing:
        from shared.api.app import create_app
        from shared.db import connection
        from shared.security.tokens import issue_session_token
        from shared.services.logs import logs_query

        with connection() as conn:
            _seed(conn)
        app = create_app()
        headers = {"authorization": f"Bearer {issue_session_token()[0]}"}
        loop = asyncio.new_event_loop()

        cases = [
            ("GET /api/notifications", "/api/notifications?limit=50",
             ("SELECT id, type, title, message, source, action_page, read, created_at FROM notifications "
              "ORDER BY created_at DESC LIMIT %s", (50,))),
            ("GET /api/logs", "/api/logs?limit=50", logs_query(50, None, None)),
            ("GET /api/logs?service=rss&level=error", "/api/logs?limit=50&service=rss&level=error",
             logs_query(50, "rss", "error")),
        ]
        print(f"{ROWS:,} rows per table; {SAMPLES} requests each after {WARMUP} warm-up; in-process ASGI")
        print(f"{'endpoint':38} {'p50 ms':>7} {'p95 ms':>7} {'sql p50':>8} {'sql p95':>8} {'bytes':>7} "
              f"{'redis/req':>9}  verdict (p95 < {TARGET_P95_MS:.0f} ms)")
        for label, path, (sql, params) in cases:
            def call():
                status, body = asgi_get(app, path, headers, loop)
                assert status == 200, (status, body[:200])
                return body

            def bare_sql():
                with connection() as c:
                    c.execute(sql, params).fetchall()

            for _ in range(WARMUP):
                call()
                bare_sql()
            size = len(call())
            backing.redis_counter.reset()
            api = _time(call, SAMPLES)
            redis_per_req = backing.redis_counter.total / SAMPLES
            db = _time(bare_sql, SAMPLES)
            p95 = _pct(api, 0.95)
            print(f"{label:38} {statistics.median(api):7.2f} {p95:7.2f} {statistics.median(db):8.2f} "
                  f"{_pct(db, 0.95):8.2f} {size:7d} {redis_per_req:9.1f}  {'ok' if p95 < TARGET_P95_MS else 'OVER'}")
        loop.close()


if __name__ == "__main__":
    main()
