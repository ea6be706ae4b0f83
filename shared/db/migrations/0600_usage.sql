-- Usage meter: billed units per UTC day, measured levels, and when Postgres ran queries (Neon's awake time).

CREATE TABLE usage_counters (
    day     date NOT NULL,
    unit    text NOT NULL,               -- redis.commands, qstash.messages, pg.queries, fn.cpu_ms, ...
    amount  double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit)
);

CREATE TABLE usage_gauges (
    day          date NOT NULL,
    unit         text NOT NULL,          -- b2.stored_bytes, pg.storage_bytes: the day's last measurement
    value        double precision NOT NULL,
    measured_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, unit)
);

-- [first, last] query time of back-to-back statements of one process: the compute is awake over
-- [started_at, ended_at + 5 min]; the union over every process is the awake time (shared/usage/awake.py)
CREATE TABLE usage_pg_spans (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL
);
CREATE INDEX usage_pg_spans_started_idx ON usage_pg_spans (started_at);

-- batches moved from Redis into these tables: a fold that died half-way is finished once, never twice
CREATE TABLE usage_folds (
    id         text PRIMARY KEY,
    folded_at  timestamptz NOT NULL DEFAULT now()
);

-- one notification per resource, kind and month (projection past 80 %, degraded by the governor)
CREATE TABLE usage_alerts (
    month       date NOT NULL,
    resource    text NOT NULL,
    kind        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, resource, kind)
);

-- the governor's current decisions (the scheduler reads a copy from Redis, so a check needs no wake-up)
CREATE TABLE usage_state (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
