"""Several real connections write the counted tables at once, each transaction touching several counters of the
same hour in its own random order (the pattern that deadlocks with shared counter rows), some rolling back, with
and without the fold running beside them: no deadlock, no writer waits on another's counter, no count lost."""

from __future__ import annotations

import random
import threading
import time

WRITERS = 6
TRANSACTIONS = 25


def _publication(conn, key: str, feed: str, channel: str) -> None:
    conn.execute("INSERT INTO publications (idempotency_key, platform, family, source, content, state) "
                 "VALUES (%s, 'x', 'x', 'rss', '{}', 'planned')", (key,))
    conn.execute("UPDATE publications SET state = 'published', published_at = now(), updated_at = now() "
                 "WHERE idempotency_key = %s", (key,))


def _comment(conn, key: str, feed: str, channel: str) -> None:
    conn.execute("INSERT INTO comments (platform, comment_id, post_id, text, commented_at, status, "
                 "replied_at) VALUES ('x', %s, 'p', 't', now(), 'replied', now())", (key,))


def _log(conn, key: str, feed: str, channel: str) -> None:
    conn.execute("INSERT INTO activity_logs (service, level, message) VALUES ('rss', 'error', 'm')")


def _video(conn, key: str, feed: str, channel: str) -> None:
    conn.execute("INSERT INTO yt_videos (channel_ref, video_id, title, detected) VALUES (%s, %s, 'v', true)",
                 (channel, key))


def _item(conn, key: str, feed: str, channel: str) -> None:
    row = conn.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status, caption_source) "
                       "VALUES (%s, %s, 't', 'seen', 'ai_cached') RETURNING id", (feed, key)).fetchone()
    conn.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, status) "
                 "VALUES (%s, 'x', now(), 'posted')", (row["id"],))


def _writer(url: str, index: int, feed: str, channel: str, errors: list, stop_at: float) -> None:
    from shared.db.connection import direct_connect

    rng = random.Random(index)
    with direct_connect(url) as conn:
        for t in range(TRANSACTIONS):
            if time.monotonic() > stop_at:
                return
            steps = [_publication, _comment, _log, _video, _item]
            rng.shuffle(steps)
            try:
                with conn.transaction(force_rollback=rng.random() < 0.2):
                    for step in steps:
                        step(conn, f"w{index}-{t}", feed, channel)
                        time.sleep(rng.random() * 0.004)  # hold the counters while the others write theirs
            except Exception as exc:  # a deadlock or any other failure ends the test
                errors.append(f"writer {index}: {type(exc).__name__}: {exc}")
                return


def _folder(url: str, stop: threading.Event, errors: list, folds: list) -> None:
    from shared.db.connection import direct_connect

    with direct_connect(url) as conn:
        while not stop.is_set():
            try:
                folds.append(conn.execute("SELECT dashboard_fold() AS n").fetchone()["n"])
            except Exception as exc:
                errors.append(f"fold: {type(exc).__name__}: {exc}")
                return
            time.sleep(0.01)


def _run(db, *, fold: bool) -> tuple[list, int, list]:
    from shared.config import get_config

    url = get_config().database_url
    feed = str(db.execute("INSERT INTO rss_feeds (name, url) VALUES ('F', 'https://f.example/' || gen_random_uuid()) "
                          "RETURNING id").fetchone()["id"])
    channel = str(db.execute("INSERT INTO yt_channels (name, channel_id) VALUES ('C', gen_random_uuid()::text) "
                             "RETURNING id").fetchone()["id"])
    errors: list[str] = []
    folds: list[int] = []
    stop = threading.Event()
    stop_at = time.monotonic() + 30
    threads = [threading.Thread(target=_writer, args=(url, i, feed, channel, errors, stop_at)) for i in range(WRITERS)]
    folder = threading.Thread(target=_folder, args=(url, stop, errors, folds)) if fold else None
    for th in threads:
        th.start()
    if folder:
        folder.start()
    lock_waits = 0
    while any(th.is_alive() for th in threads):
        # a row another transaction holds: `transactionid`/`tuple` (not `extend`, the table file growing)
        lock_waits += db.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple') "
                                 "AND pid <> pg_backend_pid()").fetchone()["n"]
        time.sleep(0.002)
    stop.set()
    for th in threads:
        th.join()
    if folder:
        folder.join()
    return errors, lock_waits, folds


def _assert_counts_exact(db) -> None:
    got = db.execute("""
        SELECT dashboard_count('publish_success', '-infinity') AS pubs,
               dashboard_count('replies', '-infinity') AS replies,
               dashboard_count('attempts', '-infinity') AS attempts, dashboard_count('errors', '-infinity') AS errors,
               dashboard_count('videos', '-infinity') AS videos, dashboard_count('ai_cached', '-infinity') AS cached,
               dashboard_count('rss_posted', '-infinity') AS posted""").fetchone()
    want = db.execute("""
        SELECT (SELECT count(*) FROM publications WHERE state IN ('published', 'dry_run')
                AND published_at IS NOT NULL) AS pubs,
               (SELECT count(*) FROM comments WHERE status = 'replied' AND replied_at IS NOT NULL) AS replies,
               (SELECT count(*) FROM comments WHERE status IN ('replied', 'failed', 'unconfirmed')) AS attempts,
               (SELECT count(*) FROM activity_logs WHERE level = 'error') AS errors,
               (SELECT count(*) FROM yt_videos WHERE detected) AS videos,
               (SELECT count(*) FROM rss_items WHERE caption_source = 'ai_cached') AS cached,
               (SELECT count(*) FROM rss_planned_posts WHERE status IN ('posted', 'dry_run')) AS posted""").fetchone()
    assert got == want
    assert want["pubs"] > 0 and want["errors"] > 0


def test_concurrent_writers_never_wait_on_each_others_counters_and_lose_nothing(clean_state, db):
    errors, lock_waits, _ = _run(db, fold=False)
    assert errors == []
    assert lock_waits == 0
    _assert_counts_exact(db)
    writers = db.execute("SELECT count(DISTINCT writer) AS n FROM dashboard_counts").fetchone()["n"]
    assert writers >= WRITERS  # each connection added to rows of its own


def test_concurrent_writers_and_folds_do_not_deadlock_and_lose_nothing(clean_state, db):
    errors, _, folds = _run(db, fold=True)
    assert errors == []
    assert sum(folds) > 0  # the fold moved rows while the writers wrote
    _assert_counts_exact(db)
    db.execute("SELECT dashboard_fold()")
    _assert_counts_exact(db)
    assert db.execute("SELECT count(*) AS n FROM dashboard_counts WHERE writer <> 0").fetchone()["n"] == 0
