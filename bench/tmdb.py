"""TMDb refresh benchmark: what one refresh of all four modules spends, cold and warm.

Runs `shared.tmdb.service.refresh` (discovery, details, ranks, ledger, captions, slots, arming) against the local
TMDb fake (held to TMDb's own definitions) on a private stack, with the production defaults (40 requests / 10 s
shared limiter, 15-minute response cache), and prints TMDb calls, Redis commands and QStash messages for:
- cold: empty cache, empty ledger (the first refresh of the day);
- warm: the same refresh again within the cache's lifetime (the owner presses Refresh, or two refreshes overlap);
- ledger-warm: the cache expired (the midday catch-up hours later) but the ledger knows the titles: only
  discovery and rank lists are fetched again, no details.
Baseline: the cold refresh. Target (issue 10): warm ≤ 20 % of cold's TMDb calls.

Run: `python -m bench.tmdb` (boots a private local stack; never touches the configured services).
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

TARGET = 0.20


def _row(name: str, seconds: float, calls: int, hits: int, redis: int, qstash: int, added: int) -> str:
    return f"{name:<12} {seconds:>7.2f} {calls:>10} {hits:>10} {redis:>14} {qstash:>15} {added:>6}"


def main() -> None:
    from bench._backing import private_backing

    with private_backing() as backing:
        from shared.config import get_config
        from shared.local.tmdb_fake import FAKE_KEY, start
        from shared.settings.service import update_settings

        tz = ZoneInfo("Africa/Lagos")
        fake, server = start(datetime.now(tz).date())
        os.environ.update({"TMDB_API_BASE": server.url, "TMDB_IMAGE_BASE": server.url + "/t/p"})
        get_config.cache_clear()
        try:
            update_settings({"tmdbKey": FAKE_KEY, "timezone": tz.key, "publishMode": "dry_run",
                             **{f"{m}AutoPost": True for m in ("today", "weekly", "monthly", "anniversary")}})
            rows = []
            from shared.tmdb import service

            def run(name: str) -> dict:
                fake.reset_counts()
                backing.redis_counter.reset()
                q0 = backing.emulator.state.published_count
                t0 = time.perf_counter()
                report = service.refresh(None, trigger="bench")
                took = time.perf_counter() - t0
                r = {"name": name, "s": took, "calls": fake.count(), "hits": report.cache_hits,
                     "redis": backing.redis_counter.total, "qstash": backing.emulator.state.published_count - q0,
                     "added": report.added, "by": dict(backing.redis_counter.by_command)}
                rows.append(r)
                return r

            cold = run("cold")
            warm = run("warm")
            import redis

            r = redis.Redis.from_url(backing.redis_url)
            for k in r.scan_iter("tmdb:c:*"):
                r.delete(k)
            r.close()
            run("ledger-warm")
        finally:
            server.stop()

    print(f"{'run':<12} {'wall s':>7} {'TMDb calls':>10} {'cache hits':>10} {'Redis commands':>14} "
          f"{'QStash messages':>15} {'added':>6}")
    for x in rows:
        print(_row(x["name"], x["s"], x["calls"], x["hits"], x["redis"], x["qstash"], x["added"]))
    ratio = warm["calls"] / cold["calls"] if cold["calls"] else 0.0
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"baseline: cold refresh = {cold['calls']} TMDb calls; warm = {ratio:.0%} of it (target <= {TARGET:.0%}): "
          f"{verdict}")
    print("Redis by command (cold): " + ", ".join(f"{k} {v}" for k, v in sorted(cold["by"].items())))


if __name__ == "__main__":
    main()
