"""Apply ordered SQL files from shared/db/migrations exactly once.

Safe when two processes start together: a session-level advisory lock serialises runners, and each file is
applied inside one transaction with its row in `schema_migrations`, so a crash leaves no half-applied file.
Files are named NNNN_name.sql and applied in name order; foundation 0001-0099, RSS 0100-0199,
publishing 0200-0299, media 0300-0399, later capabilities after that.
"""

from __future__ import annotations

import hashlib
import sys
from importlib import resources
from pathlib import Path

from shared.db.connection import direct_connect

_LOCK_ID = 0x5C12E0D1  # arbitrary, constant: "screndly migrations"


def migration_files() -> list[tuple[str, str]]:
    folder = Path(str(resources.files("shared.db") / "migrations"))
    return [(p.name, p.read_text()) for p in sorted(folder.glob("*.sql"))]


def apply_migrations(url: str | None = None) -> list[str]:
    applied: list[str] = []
    with direct_connect(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["name"]: r["checksum"] for r in conn.execute("SELECT name, checksum FROM schema_migrations")}
            for name, sql in migration_files():
                checksum = hashlib.sha256(sql.encode()).hexdigest()
                if name in done:
                    if done[name] != checksum:
                        print(f"warning: migration {name} changed after it was applied", file=sys.stderr)
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, checksum)
                    )
                applied.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied


if __name__ == "__main__":
    names = apply_migrations()
    print("applied: " + (", ".join(names) if names else "nothing new"))
