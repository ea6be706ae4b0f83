"""Database plumbing: migrations are safe when two processes start together; no server-side prepared
statements (they break behind Neon's transaction pooler)."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest


def _url_for(db_url: str, name: str) -> str:
    base, _, query = db_url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")


@pytest.mark.long
def test_two_runners_at_once_apply_each_migration_exactly_once(backing):
    from shared.db.migrate import apply_migrations, migration_files

    name = f"screndly_mig_{uuid.uuid4().hex[:8]}"
    admin = backing.env["DATABASE_URL"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _url_for(admin, name)
    try:
        results: list[list[str]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(3)

        def run():
            barrier.wait()
            try:
                results.append(apply_migrations(url))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        files = [n for n, _ in migration_files()]
        applied = sorted(n for r in results for n in r)
        assert applied == sorted(files)  # each file by exactly one runner
        with psycopg.connect(url) as conn:
            rows = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
        assert rows == sorted(files)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_queries_never_create_server_side_prepared_statements(db):
    from shared.db import connection

    for _ in range(10):  # psycopg would prepare after 5 executions by default
        with connection() as conn:
            conn.execute("SELECT count(*) FROM notifications WHERE read = %s", (False,)).fetchone()
            prepared = conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone()["n"]
    assert prepared == 0
