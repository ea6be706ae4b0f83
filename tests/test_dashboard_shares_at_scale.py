"""The dashboard's two shares (cacheHitRate now two bare counts, migration 1101) equal the share computed in one
pass with FILTER over the same rows, on the bench's varied rows."""

from __future__ import annotations

from datetime import datetime, timezone


def test_cache_hit_rate_and_success_rate_equal_the_filtered_share(clean_state, db):
    from bench import polling
    from shared.dashboard import stats

    for sql in polling._SEED:
        db.execute(sql.format(rows=5_000, spread=polling.SPREAD))
    db.execute("INSERT INTO settings (key, value) VALUES ('commentRetention', '\"36\"'::jsonb)")
    # the owner at about noon: "today" then holds hours of the seeded rows whatever the hour the suite runs at
    # (just after the bench zone's midnight it would hold none)
    ahead = 12 - datetime.now(timezone.utc).hour
    db.execute("UPDATE settings SET value = to_jsonb(%s::text) WHERE key = 'timezone'", (f"Etc/GMT{-ahead:+d}",))
    want = db.execute(stats._DAY_START + """
        SELECT (SELECT COALESCE(round(100.0 * count(*) FILTER (WHERE caption_source = 'ai_cached')
                                      / NULLIF(count(*), 0), 1), 0)
                FROM rss_items WHERE caption_source IN ('ai', 'ai_cached') AND updated_at >= day.start) AS cache,
               (SELECT COALESCE(round(100.0 * count(*) FILTER (WHERE status = 'replied') / NULLIF(count(*), 0), 1),
                                100.0)
                FROM comments WHERE status IN ('replied', 'failed', 'unconfirmed')
                AND updated_at >= now() - interval '36 hours') AS success
        FROM day""", {"tz": stats._default_tz()}).fetchone()
    got = stats._query(stats._STATS_SQL)
    assert 0 < float(want["cache"]) < 100 and 0 < float(want["success"]) < 100
    assert got["system"]["cacheHitRate"] == float(want["cache"])
    assert got["comments"]["successRate"] == float(want["success"])
