"""The dashboard's per-hour counters (migration 1200) answer exactly what counting the rows answers: after random
inserts, state changes, timestamp moves, deletes (single rows, bulk statements, cascades, rolled-back
transactions), the cleanup's own deletes and folds, in owner timezones whose midnight is not on a UTC hour,
and when the owner changes timezone. The reference is the counting statement the counters replaced."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from psycopg.types.json import Jsonb

# (metric, the exact count of its rows with a timestamp in [%(a)s, %(b)s))
METRICS = {
    "ai_captions": "SELECT count(*) FROM rss_items WHERE caption_source IN ('ai', 'ai_cached') "
                   "AND updated_at >= %(a)s AND updated_at < %(b)s",
    "ai_cached": "SELECT count(*) FROM rss_items WHERE caption_source = 'ai_cached' "
                 "AND updated_at >= %(a)s AND updated_at < %(b)s",
    "errors": "SELECT count(*) FROM activity_logs WHERE level = 'error' AND created_at >= %(a)s AND created_at < %(b)s",
    "publish_failed": "SELECT count(*) FROM publications WHERE state IN ('failed', 'unconfirmed') "
                      "AND updated_at >= %(a)s AND updated_at < %(b)s",
    "publish_success": "SELECT count(*) FROM publications WHERE state IN ('published', 'dry_run') "
                       "AND published_at >= %(a)s AND published_at < %(b)s",
    "videos": "SELECT count(*) FROM yt_videos WHERE detected AND created_at >= %(a)s AND created_at < %(b)s",
    "rss_posted": "SELECT count(*) FROM rss_planned_posts WHERE status IN ('posted', 'dry_run') "
                  "AND updated_at >= %(a)s AND updated_at < %(b)s",
    "jobs_done": "SELECT count(*) FROM media_jobs WHERE state = 'succeeded' AND finished_at >= %(a)s "
                 "AND finished_at < %(b)s",
    "replies": "SELECT count(*) FROM comments WHERE status = 'replied' AND replied_at >= %(a)s AND replied_at < %(b)s",
    "attempts": "SELECT count(*) FROM comments WHERE status IN ('replied', 'failed', 'unconfirmed') "
                "AND updated_at >= %(a)s AND updated_at < %(b)s",
    "attempts_replied": "SELECT count(*) FROM comments WHERE status = 'replied' "
                        "AND updated_at >= %(a)s AND updated_at < %(b)s",
}

# midnights off the UTC hour (+05:30, +05:45, -03:30, +12:45/+13:45), a DST zone, and whole-hour ones
ZONES = ["Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham", "Europe/London",
         "Africa/Lagos", "UTC", "Pacific/Kiritimati"]

PUB_STATES = ["planned", "publishing", "published", "failed", "unconfirmed", "dry_run"]
COMMENT_STATES = ["pending", "skipped", "replying", "replied", "dry_run", "failed", "unconfirmed"]
PLANNED_STATES = ["planned", "publishing", "posted", "dry_run", "failed"]
JOB_STATES = ["queued", "running", "succeeded", "failed", "cancelled"]
CAPTIONS = [None, "ai", "ai_cached", "template"]


def _counted(db) -> dict:
    from bench.polling import COUNTING_SQL
    from shared.dashboard import stats

    with db.transaction():  # one now() for both: the same day and the same success-rate window
        new = db.execute(stats._STATS_SQL, {"tz": stats._default_tz()}).fetchone()["stats"]
        ref = db.execute(stats._DAY_START + COUNTING_SQL, {"tz": stats._default_tz()}).fetchone()["stats"]
    mine = {**{k: new["system"][k] for k in ("cacheHitRate", "systemErrors", "dailyFailures", "dailySuccess")},
            "dailyVideos": new["video"]["dailyVideos"], "trends": new["video"]["trends"],
            "dailyPosted": new["rss"]["dailyPosted"], "completedToday": new["uploads"]["completedToday"],
            "repliesToday": new["comments"]["repliesToday"], "successRate": new["comments"]["successRate"]}
    return {"counters": mine, "counting": ref}


def _assert_equal_in_every_zone(db) -> None:
    for zone in ZONES:
        db.execute("INSERT INTO settings (key, value) VALUES ('timezone', %s) "
                   "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (Jsonb(zone),))
        got = _counted(db)
        assert got["counters"] == got["counting"], zone


class _World:
    """Random rows in the seven counted tables, with timestamps near UTC hours and the zones' midnights."""

    def __init__(self, db, rng: random.Random) -> None:
        self.db, self.rng, self.n = db, rng, 0
        self.now = db.execute("SELECT now() AS t").fetchone()["t"]
        feed = db.execute("INSERT INTO rss_feeds (name, url) VALUES ('F', 'https://f.example/rss') "
                          "RETURNING id").fetchone()["id"]
        channel = db.execute("INSERT INTO yt_channels (name, channel_id) VALUES ('C', 'UC1') "
                             "RETURNING id").fetchone()["id"]
        self.feed, self.channel = feed, channel

    def ts(self) -> datetime | None:
        r = self.rng.random()
        if r < 0.05:
            return None
        base = self.now + timedelta(seconds=self.rng.uniform(-9 * 86400, 86400))
        if r < 0.5:  # on or a microsecond beside an hour or half/quarter hour (the zones' midnights)
            base = base.replace(minute=self.rng.choice([0, 15, 30, 45]), second=0, microsecond=0)
            base += timedelta(microseconds=self.rng.choice([-1, 0, 0, 1]))
        return base

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def insert_one(self) -> None:
        rng, db, k = self.rng, self.db, self.key()
        table = rng.choice(["logs", "items", "pubs", "videos", "jobs", "comments"])
        if table == "logs":
            db.execute("INSERT INTO activity_logs (service, level, message, created_at) VALUES ('rss', %s, 'm', %s)",
                       (rng.choice(["info", "error", "warn"]), self.ts() or self.now))
        elif table == "items":
            item = db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status, caption_source, updated_at) "
                              "VALUES (%s, %s, 't', 'seen', %s, %s) RETURNING id",
                              (self.feed, k, rng.choice(CAPTIONS), self.ts() or self.now)).fetchone()["id"]
            db.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, status, updated_at) "
                       "VALUES (%s, 'x', now(), %s, %s)", (item, rng.choice(PLANNED_STATES), self.ts() or self.now))
        elif table == "pubs":
            db.execute("INSERT INTO publications (idempotency_key, platform, family, source, content, state, "
                       "published_at, updated_at) VALUES (%s, 'x', 'x', 'rss', '{}', %s, %s, %s)",
                       (k, rng.choice(PUB_STATES), self.ts(), self.ts() or self.now))
        elif table == "videos":
            db.execute("INSERT INTO yt_videos (channel_ref, video_id, title, detected, created_at) "
                       "VALUES (%s, %s, 'v', %s, %s)", (self.channel, k, rng.random() < 0.6, self.ts() or self.now))
        elif table == "jobs":
            db.execute("INSERT INTO media_jobs (source_key, preset, file_name, state, finished_at) "
                       "VALUES (%s, 'thumbnail', 'f.mp4', %s, %s)", (k, rng.choice(JOB_STATES), self.ts()))
        else:
            db.execute("INSERT INTO comments (platform, comment_id, post_id, text, commented_at, fetched_at, status, "
                       "replied_at, updated_at) VALUES ('x', %s, 'p', 't', now(), %s, %s, %s, %s)",
                       (k, self.ts() or self.now, rng.choice(COMMENT_STATES), self.ts(), self.ts() or self.now))

    def insert_bulk(self) -> None:
        """One statement of many rows (the statement-level trigger's grouped write)."""
        db, n = self.db, self.rng.randint(20, 200)
        db.execute("SELECT setseed(%s)", (self.rng.random(),))
        spread = "now() + (random() * 10 - 9) * interval '1 day'"
        db.execute(f"INSERT INTO publications (idempotency_key, platform, family, source, content, state, "
                   f"published_at, updated_at) SELECT 'b' || %s || '-' || g, 'x', 'x', 'rss', '{{}}', "
                   f"(%s::text[])[1 + floor(random() * 6)::int], {spread}, {spread} FROM generate_series(1, %s) g",
                   (self.key(), PUB_STATES, n))
        db.execute(f"INSERT INTO comments (platform, comment_id, post_id, text, commented_at, fetched_at, status, "
                   f"replied_at, updated_at) SELECT 'x', 'b' || %s || '-' || g, 'p', 't', now(), {spread}, "
                   f"(%s::text[])[1 + floor(random() * 7)::int], "
                   f"CASE WHEN random() < 0.7 THEN {spread} END, {spread} FROM generate_series(1, %s) g",
                   (self.key(), COMMENT_STATES, n))
        db.execute(f"INSERT INTO activity_logs (service, level, message, created_at) SELECT 'rss', "
                   f"(ARRAY['info','error'])[1 + floor(random() * 2)::int], 'm', {spread} "
                   f"FROM generate_series(1, %s) g",
                   (n,))
        db.execute(f"INSERT INTO yt_videos (channel_ref, video_id, title, detected, created_at) "
                   f"SELECT %s, 'b' || %s || '-' || g, 'v', random() < 0.5, {spread} FROM generate_series(1, %s) g",
                   (self.channel, self.key(), n))

    # per table, the columns an update may change (any non-empty subset) and a random new value for each
    UPDATES: ClassVar[dict[str, dict[str, Callable[[_World], Any]]]] = {
        "publications": {"state": lambda w: w.rng.choice(PUB_STATES), "updated_at": lambda w: w.ts() or w.now,
                         "published_at": lambda w: w.ts()},
        "comments": {"status": lambda w: w.rng.choice(COMMENT_STATES), "replied_at": lambda w: w.ts(),
                     "updated_at": lambda w: w.ts() or w.now},
        "rss_items": {"caption_source": lambda w: w.rng.choice(CAPTIONS), "updated_at": lambda w: w.ts() or w.now},
        "rss_planned_posts": {"status": lambda w: w.rng.choice(PLANNED_STATES),
                              "updated_at": lambda w: w.ts() or w.now},
        "yt_videos": {"detected": lambda w: w.rng.random() < 0.5, "created_at": lambda w: w.ts() or w.now},
        "media_jobs": {"state": lambda w: w.rng.choice(JOB_STATES), "finished_at": lambda w: w.ts(),
                       "progress": lambda w: w.rng.randint(0, 100)},
        "activity_logs": {"level": lambda w: w.rng.choice(["error", "info"]),
                          "created_at": lambda w: w.ts() or w.now},
    }

    def update(self) -> None:
        """State changes and timestamp moves of any subset of the counted columns, one row or many rows in one
        statement (the row trigger and its WHEN)."""
        db, rng = self.db, self.rng
        table = rng.choice(sorted(self.UPDATES))
        columns = self.UPDATES[table]
        chosen = rng.sample(sorted(columns), rng.randint(1, len(columns)))
        db.execute("SELECT setseed(%s)", (rng.random(),))
        sets = ", ".join(f"{c} = %s" for c in chosen)
        db.execute(f"UPDATE {table} SET {sets} WHERE random() < %s",
                   (*[columns[c](self) for c in chosen], rng.choice([0.02, 0.3])))

    def delete(self) -> None:
        db, rng = self.db, self.rng
        db.execute("SELECT setseed(%s)", (rng.random(),))
        table = rng.choice(["publications", "comments", "rss_items", "yt_videos", "media_jobs", "activity_logs",
                            "rss_planned_posts"])
        db.execute(f"DELETE FROM {table} WHERE random() < 0.1")

    def upsert(self) -> None:
        """INSERT ... ON CONFLICT DO UPDATE: new keys are inserted, existing ones updated, in one statement."""
        keys = [f"u{self.rng.randint(1, 30)}" for _ in range(self.rng.randint(1, 6))]
        self.db.execute("INSERT INTO publications (idempotency_key, platform, family, source, content, state, "
                        "published_at, updated_at) SELECT k, 'x', 'x', 'rss', '{}', %s, %s, %s "
                        "FROM unnest(%s::text[]) k "
                        "ON CONFLICT (idempotency_key) DO UPDATE SET state = EXCLUDED.state, "
                        "published_at = EXCLUDED.published_at",
                        (self.rng.choice(PUB_STATES), self.ts(), self.ts() or self.now, sorted(set(keys))))

    def rolled_back(self) -> None:
        with self.db.transaction(force_rollback=True):
            self.insert_bulk()
            self.update()
            self.delete()

    def step(self) -> None:
        op = self.rng.choices([self.insert_one, self.insert_bulk, self.update, self.delete, self.rolled_back,
                               self.upsert], weights=[40, 4, 20, 4, 2, 6])[0]
        op()


def test_counters_equal_counting_after_random_writes_in_every_zone(clean_state, db):
    world = _World(db, random.Random(1200))
    for _ in range(150):
        world.step()
    _assert_equal_in_every_zone(db)
    db.execute("SELECT dashboard_fold()")
    assert db.execute("SELECT count(*) AS n FROM dashboard_counts WHERE writer <> 0 OR n = 0").fetchone()["n"] == 0
    for _ in range(150):
        world.step()
    # a cascade (deleting the feed deletes its items and their planned posts), then the whole world changes zone
    db.execute("INSERT INTO settings (key, value) VALUES ('commentRetention', '30') ON CONFLICT (key) DO UPDATE "
               "SET value = EXCLUDED.value")
    _assert_equal_in_every_zone(db)
    db.execute("DELETE FROM rss_feeds")
    db.execute("DELETE FROM yt_channels")
    _assert_equal_in_every_zone(db)


def test_every_range_equals_the_exact_count(clean_state, db):
    """dashboard_count(metric, a, b) for ranges cut anywhere (inside one hour, across many, open-ended)."""
    rng = random.Random(7)
    world = _World(db, rng)
    for _ in range(200):
        world.step()
    now = world.now
    for _ in range(60):
        a = now + timedelta(seconds=rng.uniform(-10 * 86400, 2 * 86400))
        if rng.random() < 0.3:
            a = a.replace(minute=0, second=0, microsecond=0)
        b = a + timedelta(seconds=rng.choice([0, 1, 59, 1800, 3600, 5400, 86400, 7 * 86400]) + rng.random())
        for metric, exact in METRICS.items():
            want = db.execute(exact, {"a": a, "b": b}).fetchone()["count"]
            got = db.execute("SELECT dashboard_count(%s, %s, %s) AS n", (metric, a, b)).fetchone()["n"]
            assert got == want, (metric, a, b)
            open_want = db.execute(exact, {"a": a, "b": datetime.max.replace(tzinfo=timezone.utc)}).fetchone()["count"]
            assert db.execute("SELECT dashboard_count(%s, %s) AS n", (metric, a)).fetchone()["n"] == open_want


def test_the_cleanup_deletes_and_folds_and_the_counts_stay_equal(clean_state, db):
    from shared.maintenance.cleanup import run_cleanup

    world = _World(db, random.Random(3))
    for _ in range(120):
        world.step()
    for key, hours in (("logsRetention", 48), ("commentRetention", 72)):
        db.execute("INSERT INTO settings (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                   "SET value = EXCLUDED.value", (key, Jsonb(hours)))
    before = db.execute("SELECT (SELECT count(*) FROM activity_logs) AS logs, (SELECT count(*) FROM comments) AS c"
                        ).fetchone()
    result = run_cleanup()
    after = db.execute("SELECT (SELECT count(*) FROM activity_logs) AS logs, (SELECT count(*) FROM comments) AS c"
                       ).fetchone()
    assert after["logs"] < before["logs"] and after["c"] < before["c"]  # the cleanup did delete counted rows
    assert result["steps"]["dashboard.fold"]["foldedRows"] > 0
    assert db.execute("SELECT count(*) AS n FROM dashboard_counts WHERE writer <> 0").fetchone()["n"] == 0
    _assert_equal_in_every_zone(db)


def test_truncating_a_table_drops_its_counters(clean_state, db):
    world = _World(db, random.Random(5))
    for _ in range(40):
        world.insert_bulk()
    db.execute("TRUNCATE comments")
    assert db.execute("SELECT count(*) AS n FROM dashboard_counts WHERE metric IN ('replies', 'attempts', "
                      "'attempts_replied')").fetchone()["n"] == 0
    _assert_equal_in_every_zone(db)


def test_the_days_counts_come_from_the_counters_not_from_the_days_rows(clean_state, db):
    """The statement reads the day's rows only at its partial-hour edges: with the counters gone, today's errors
    in a zone whose midnight is on a UTC hour read 0 although the rows are there (and the counting query's
    answer comes back with a fold-free rebuild)."""
    from shared.dashboard import stats

    db.execute("INSERT INTO settings (key, value) VALUES ('timezone', %s)", (Jsonb("Africa/Lagos"),))
    # just after the owner's midnight (on a UTC hour in Lagos), so all 60 are today whatever the time
    db.execute("INSERT INTO activity_logs (service, level, message, created_at) SELECT 'rss', 'error', 'm', "
               "date_trunc('day', now() AT TIME ZONE 'Africa/Lagos') AT TIME ZONE 'Africa/Lagos' "
               "+ g * interval '1 second' FROM generate_series(0, 59) g")
    assert db.execute(stats._SYSTEM_SQL, {"tz": "UTC"}).fetchone()["stats"]["system"]["systemErrors"] == 60
    db.execute("DELETE FROM dashboard_counts")
    assert db.execute(stats._SYSTEM_SQL, {"tz": "UTC"}).fetchone()["stats"]["system"]["systemErrors"] == 0
