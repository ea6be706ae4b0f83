-- Foundation: settings store, notifications, activity log.

CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    -- secrets are stored as {"$enc": "<base64 AES-GCM blob>"}; see shared/security/secretbox.py
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type         text NOT NULL CHECK (type IN ('success', 'error', 'info', 'warning')),
    title        text NOT NULL,
    message      text NOT NULL DEFAULT '',
    source       text NOT NULL DEFAULT 'system',
    action_page  text,
    read         boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- the 30 s poll reads the newest N: one index scan
CREATE INDEX notifications_created_idx ON notifications (created_at DESC);

CREATE TABLE activity_logs (
    id          bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    level       text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    service     text NOT NULL,
    message     text NOT NULL,
    metadata    jsonb
);
-- the 60 s poll filters by service and/or level and reads the newest N
CREATE INDEX activity_logs_created_idx ON activity_logs (created_at DESC, id DESC);
CREATE INDEX activity_logs_service_idx ON activity_logs (service, created_at DESC, id DESC);
CREATE INDEX activity_logs_level_idx ON activity_logs (level, created_at DESC, id DESC);
