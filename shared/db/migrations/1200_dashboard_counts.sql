-- Per-hour counters for the dashboard's "today" counts, its 7-day trend and the comment success rate
-- (shared/dashboard/stats.py): counting the day's index entries cost ~8,600 entries per table at 100,000 rows
-- (bench/polling.py); summing at most 24 hour rows per metric is constant in the day's volume.
--
-- Keyed by the UTC hour of the row's timestamp, not by a day: a day depends on the owner's `timezone`, which
-- may change, and on zones whose midnight is not on a UTC hour (+05:30, +05:45). dashboard_count() sums the
-- whole hours inside a range and counts the partial hours at its ends exactly on the existing partial indexes
-- (1000/1101), so any range in any zone equals the counting query it replaces (tests/test_dashboard_counts.py).
--
-- No shared counter row: each backend adds to its own rows (`writer` = pg_backend_pid(), unique among live
-- backends), so two writers never wait on each other's counter row and cannot deadlock over two counters taken
-- in opposite order. A rolled-back write takes its count with it (same transaction). The cleanup's fold
-- (dashboard_fold) moves every writer's rows into writer 0 so reads stay at ~24 rows per metric and day.
CREATE TABLE dashboard_counts (
    metric  text NOT NULL,
    hour    timestamptz NOT NULL,  -- counts rows whose timestamp is in [hour, hour + 1 h), hour on a UTC hour
    writer  int NOT NULL,          -- the backend that added it; 0: folded
    n       bigint NOT NULL,
    PRIMARY KEY (metric, hour, writer)
) WITH (fillfactor = 70);  -- room for HOT updates: a writer's row is updated once per counted write

-- What each table counts, one (metric, timestamp) per metric the row is in. Each mirrors a counting query
-- that dashboard_exact() keeps (and tests compare against the statement these replace).
CREATE FUNCTION dashboard_metrics_rss_items(r rss_items) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'ai_captions', r.updated_at WHERE r.caption_source IN ('ai', 'ai_cached')
    UNION ALL SELECT 'ai_cached', r.updated_at WHERE r.caption_source = 'ai_cached'
$$;
CREATE FUNCTION dashboard_metrics_activity_logs(r activity_logs) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'errors', r.created_at WHERE r.level = 'error'
$$;
CREATE FUNCTION dashboard_metrics_publications(r publications) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'publish_failed', r.updated_at WHERE r.state IN ('failed', 'unconfirmed')
    UNION ALL SELECT 'publish_success', r.published_at WHERE r.state IN ('published', 'dry_run')
$$;
CREATE FUNCTION dashboard_metrics_yt_videos(r yt_videos) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'videos', r.created_at WHERE r.detected
$$;
CREATE FUNCTION dashboard_metrics_rss_planned_posts(r rss_planned_posts) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'rss_posted', r.updated_at WHERE r.status IN ('posted', 'dry_run')
$$;
CREATE FUNCTION dashboard_metrics_media_jobs(r media_jobs) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'jobs_done', r.finished_at WHERE r.state = 'succeeded'
$$;
CREATE FUNCTION dashboard_metrics_comments(r comments) RETURNS TABLE (metric text, at timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'replies', r.replied_at WHERE r.status = 'replied'
    UNION ALL SELECT 'attempts', r.updated_at WHERE r.status IN ('replied', 'failed', 'unconfirmed')
    UNION ALL SELECT 'attempts_replied', r.updated_at WHERE r.status = 'replied'
$$;

-- Exactly the rows of `metric` with a timestamp in [a, b), on the partial indexes the dashboard used before:
-- only called for the partial hours at a range's ends (at most an hour of rows; none for a range on hours).
CREATE FUNCTION dashboard_exact(metric text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF a >= b THEN
        RETURN 0;
    END IF;
    CASE metric
    WHEN 'ai_captions' THEN
        RETURN (SELECT count(*) FROM rss_items WHERE caption_source IN ('ai', 'ai_cached')
                AND updated_at >= a AND updated_at < b);
    WHEN 'ai_cached' THEN
        RETURN (SELECT count(*) FROM rss_items WHERE caption_source = 'ai_cached' AND updated_at >= a AND updated_at < b);
    WHEN 'errors' THEN
        RETURN (SELECT count(*) FROM activity_logs WHERE level = 'error' AND created_at >= a AND created_at < b);
    WHEN 'publish_failed' THEN
        RETURN (SELECT count(*) FROM publications WHERE state IN ('failed', 'unconfirmed')
                AND updated_at >= a AND updated_at < b);
    WHEN 'publish_success' THEN
        RETURN (SELECT count(*) FROM publications WHERE state IN ('published', 'dry_run')
                AND published_at >= a AND published_at < b);
    WHEN 'videos' THEN
        RETURN (SELECT count(*) FROM yt_videos WHERE detected AND created_at >= a AND created_at < b);
    WHEN 'rss_posted' THEN
        RETURN (SELECT count(*) FROM rss_planned_posts WHERE status IN ('posted', 'dry_run')
                AND updated_at >= a AND updated_at < b);
    WHEN 'jobs_done' THEN
        RETURN (SELECT count(*) FROM media_jobs WHERE state = 'succeeded' AND finished_at >= a AND finished_at < b);
    WHEN 'replies' THEN
        RETURN (SELECT count(*) FROM comments WHERE status = 'replied' AND replied_at >= a AND replied_at < b);
    WHEN 'attempts' THEN
        RETURN (SELECT count(*) FROM comments WHERE status IN ('replied', 'failed', 'unconfirmed')
                AND updated_at >= a AND updated_at < b);
    WHEN 'attempts_replied' THEN
        RETURN (SELECT count(*) FROM comments WHERE status IN ('replied', 'failed', 'unconfirmed')
                AND status = 'replied' AND updated_at >= a AND updated_at < b);
    END CASE;  -- an unknown metric raises case_not_found
END
$$;

-- The rows of `metric` with a timestamp in [a, b) (b open-ended by default, as ">= today's start" is):
-- whole UTC hours from the counters, the partial hour at each end counted exactly. PL/pgSQL rather than SQL: its
-- statements' plans are kept for the session, where a SQL function is planned again at every call site of every
-- statement (the dashboard's statement calls it ~20 times).
CREATE FUNCTION dashboard_count(metric text, a timestamptz, b timestamptz DEFAULT 'infinity') RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c0 timestamptz := date_trunc('hour', a, 'UTC');  -- the first whole hour: a's hour, or the next one
    f1 timestamptz := date_trunc('hour', b, 'UTC');  -- the end of the last whole hour
BEGIN
    IF c0 < a THEN
        c0 := c0 + interval '1 hour';
    END IF;
    IF f1 < c0 THEN  -- no whole hour inside [a, b)
        RETURN dashboard_exact(metric, a, b);
    END IF;
    RETURN (SELECT COALESCE(sum(c.n), 0) FROM dashboard_counts c
             WHERE c.metric = dashboard_count.metric AND c.hour >= c0 AND c.hour < f1)::bigint
           + dashboard_exact(metric, a, c0) + dashboard_exact(metric, f1, b);
END
$$;

-- Keeps the counters, one function per table (dashboard_count_<table>, made from one template below: static
-- SQL, so each backend plans it once; a single function taking the table as an argument would need EXECUTE,
-- planned at every write, ~4x the cost). INSERT and DELETE per statement (one grouped write for a bulk insert
-- or a cleanup batch), UPDATE per row and only when the row enters, leaves or moves within a metric (see each
-- WHEN), so the media worker's progress heartbeats and other updates do not run it.
DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['rss_items', 'activity_logs', 'publications', 'yt_videos', 'rss_planned_posts',
                             'media_jobs', 'comments'] LOOP
        EXECUTE format($f$
            CREATE FUNCTION dashboard_count_%1$s() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO dashboard_counts AS c (metric, hour, writer, n)
                    SELECT m.metric, date_trunc('hour', m.at, 'UTC'), pg_backend_pid(), count(*)
                    FROM new_rows r, dashboard_metrics_%1$s(r) m WHERE m.at IS NOT NULL GROUP BY 1, 2
                    ON CONFLICT (metric, hour, writer) DO UPDATE SET n = c.n + EXCLUDED.n;
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO dashboard_counts AS c (metric, hour, writer, n)
                    SELECT m.metric, date_trunc('hour', m.at, 'UTC'), pg_backend_pid(), -count(*)
                    FROM old_rows r, dashboard_metrics_%1$s(r) m WHERE m.at IS NOT NULL GROUP BY 1, 2
                    ON CONFLICT (metric, hour, writer) DO UPDATE SET n = c.n + EXCLUDED.n;
                ELSE  -- UPDATE, for each row
                    INSERT INTO dashboard_counts AS c (metric, hour, writer, n)
                    SELECT x.metric, date_trunc('hour', x.at, 'UTC'), pg_backend_pid(), sum(x.d)
                    FROM (SELECT m.*, 1 AS d FROM dashboard_metrics_%1$s(NEW) m
                          UNION ALL SELECT m.*, -1 FROM dashboard_metrics_%1$s(OLD) m) x
                    WHERE x.at IS NOT NULL GROUP BY 1, 2 HAVING sum(x.d) <> 0
                    ON CONFLICT (metric, hour, writer) DO UPDATE SET n = c.n + EXCLUDED.n;
                END IF;
                RETURN NULL;
            END
            $body$
        $f$, t);
    END LOOP;
END
$do$;

-- TRUNCATE fires no DELETE trigger: drop the table's counters with it. TG_ARGV: the table's metrics.
CREATE FUNCTION dashboard_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dashboard_counts WHERE metric = ANY(TG_ARGV);
    RETURN NULL;
END
$$;

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON rss_items REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_rss_items();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON rss_items REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_rss_items();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON rss_items FOR EACH ROW
    WHEN ((OLD.caption_source IN ('ai', 'ai_cached') OR NEW.caption_source IN ('ai', 'ai_cached'))
          AND (OLD.caption_source IS DISTINCT FROM NEW.caption_source OR OLD.updated_at IS DISTINCT FROM NEW.updated_at))
    EXECUTE FUNCTION dashboard_count_rss_items();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON rss_items
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('ai_captions', 'ai_cached');

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON activity_logs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_activity_logs();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON activity_logs REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_activity_logs();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON activity_logs FOR EACH ROW
    WHEN ((OLD.level = 'error' OR NEW.level = 'error')
          AND (OLD.level IS DISTINCT FROM NEW.level OR OLD.created_at IS DISTINCT FROM NEW.created_at))
    EXECUTE FUNCTION dashboard_count_activity_logs();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON activity_logs
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('errors');

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON publications REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_publications();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON publications REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_publications();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON publications FOR EACH ROW
    WHEN ((OLD.state IN ('failed', 'unconfirmed', 'published', 'dry_run')
           OR NEW.state IN ('failed', 'unconfirmed', 'published', 'dry_run'))
          AND (OLD.state IS DISTINCT FROM NEW.state OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
               OR OLD.published_at IS DISTINCT FROM NEW.published_at))
    EXECUTE FUNCTION dashboard_count_publications();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON publications
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('publish_failed', 'publish_success');

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON yt_videos REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_yt_videos();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON yt_videos REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_yt_videos();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON yt_videos FOR EACH ROW
    WHEN ((OLD.detected OR NEW.detected)
          AND (OLD.detected IS DISTINCT FROM NEW.detected OR OLD.created_at IS DISTINCT FROM NEW.created_at))
    EXECUTE FUNCTION dashboard_count_yt_videos();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON yt_videos
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('videos');

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON rss_planned_posts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_rss_planned_posts();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON rss_planned_posts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_rss_planned_posts();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON rss_planned_posts FOR EACH ROW
    WHEN ((OLD.status IN ('posted', 'dry_run') OR NEW.status IN ('posted', 'dry_run'))
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.updated_at IS DISTINCT FROM NEW.updated_at))
    EXECUTE FUNCTION dashboard_count_rss_planned_posts();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON rss_planned_posts
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('rss_posted');

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON media_jobs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_media_jobs();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON media_jobs REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_media_jobs();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON media_jobs FOR EACH ROW
    WHEN ((OLD.state = 'succeeded' OR NEW.state = 'succeeded')
          AND (OLD.state IS DISTINCT FROM NEW.state OR OLD.finished_at IS DISTINCT FROM NEW.finished_at))
    EXECUTE FUNCTION dashboard_count_media_jobs();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON media_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('jobs_done');

CREATE TRIGGER dashboard_counts_ins AFTER INSERT ON comments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_comments();
CREATE TRIGGER dashboard_counts_del AFTER DELETE ON comments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_count_comments();
CREATE TRIGGER dashboard_counts_upd AFTER UPDATE ON comments FOR EACH ROW
    WHEN ((OLD.status IN ('replied', 'failed', 'unconfirmed') OR NEW.status IN ('replied', 'failed', 'unconfirmed'))
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
               OR OLD.replied_at IS DISTINCT FROM NEW.replied_at))
    EXECUTE FUNCTION dashboard_count_comments();
CREATE TRIGGER dashboard_counts_trunc AFTER TRUNCATE ON comments
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard_counts_truncated('replies', 'attempts', 'attempts_replied');

-- Rows written before this migration (the triggers above already hold each table's lock until it commits,
-- so no write slips between them and this count).
INSERT INTO dashboard_counts (metric, hour, writer, n)
SELECT m.metric, date_trunc('hour', m.at, 'UTC'), 0, count(*)
FROM (SELECT m.* FROM rss_items r, dashboard_metrics_rss_items(r) m
      UNION ALL SELECT m.* FROM activity_logs r, dashboard_metrics_activity_logs(r) m
      UNION ALL SELECT m.* FROM publications r, dashboard_metrics_publications(r) m
      UNION ALL SELECT m.* FROM yt_videos r, dashboard_metrics_yt_videos(r) m
      UNION ALL SELECT m.* FROM rss_planned_posts r, dashboard_metrics_rss_planned_posts(r) m
      UNION ALL SELECT m.* FROM media_jobs r, dashboard_metrics_media_jobs(r) m
      UNION ALL SELECT m.* FROM comments r, dashboard_metrics_comments(r) m) m
WHERE m.at IS NOT NULL
GROUP BY 1, 2;

-- Moves every writer's rows into writer 0 and drops the zeros: the reads then sum one row per metric and hour.
-- Never waits: rows a writer holds right now (SKIP LOCKED) are left for the next fold, and a second fold at the
-- same time does nothing (advisory lock). A writer that meets a row this fold deletes waits for the fold's
-- commit and then inserts afresh. Returns how many rows it moved.
CREATE FUNCTION dashboard_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('dashboard_fold')) THEN
        RETURN 0;
    END IF;
    WITH taken AS (
        DELETE FROM dashboard_counts c USING (
            SELECT metric, hour, writer FROM dashboard_counts WHERE writer <> 0 FOR UPDATE SKIP LOCKED) t
        WHERE (c.metric, c.hour, c.writer) = (t.metric, t.hour, t.writer)
        RETURNING c.metric, c.hour, c.n
    ), summed AS (
        INSERT INTO dashboard_counts AS c (metric, hour, writer, n)
        SELECT metric, hour, 0, sum(n) FROM taken GROUP BY 1, 2
        ON CONFLICT (metric, hour, writer) DO UPDATE SET n = c.n + EXCLUDED.n
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM taken) INTO moved;
    DELETE FROM dashboard_counts WHERE writer = 0 AND n = 0;
    RETURN moved;
END
$$;
