-- Session revocation (shared/auth/sessions.py): tokens issued at or before `valid_after_ms` are void
-- (POST /api/auth/logout-all), and single tokens signed out with POST /api/auth/logout are listed until they
-- would have expired anyway.

CREATE TABLE session_epoch (
    id              smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    valid_after_ms  bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO session_epoch (id) VALUES (1);

CREATE TABLE revoked_sessions (
    jti         text PRIMARY KEY,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_sessions_expires_idx ON revoked_sessions (expires_at);
