"""Test harness: real Postgres, real Redis behind the Upstash REST bridge, the QStash emulator, moto's S3
server, and the API itself on a real port (so QStash deliveries reach it), all started once per session.

Each session gets its own database and its own Redis process, so parallel runs never share state.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.local import services  # noqa: E402

_API_PORT = services.free_port()
_TMP = services.tempdir("screndly-test-")
TEST_PASSWORD = "correct horse battery staple"


def _boot():
    from shared.local.stack import start_backing

    backing = start_backing(mode="test", data_dir=_TMP, public_base_url=f"http://127.0.0.1:{_API_PORT}",
                            api_port=_API_PORT)
    os.environ.update(backing.env)
    os.environ["APP_ENV"] = "test"
    # a real argon2id hash with cheap parameters (they are encoded in the hash): login tests check the same code
    # path as production without paying ~100 ms of memory-hard hashing per attempt
    from argon2 import PasswordHasher

    os.environ["APP_PASSWORD_HASH"] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(TEST_PASSWORD)
    os.environ.setdefault("PUBLISH_MODE", "live")
    from shared.config import get_config

    get_config.cache_clear()
    from shared.db.migrate import apply_migrations

    apply_migrations()
    # pre-staging is on by default and this machine's Redis 7.0 cannot confirm WAITAOF: the once-a-day activity
    # note saying so would land in whichever test first opens a staging window (its own test resets this)
    from shared.publishing.staging import stage

    stage._inert_noted = True
    return backing


_BACKING = _boot()


def pytest_collection_modifyitems(config, items):
    """Tests marked `long` run first (the sort is stable: the rest keep their order). xdist hands tests out in
    collection order, one at a time to each worker in turn at first, then as they finish: a long test collected
    late would keep one worker busy after the other had run out of work."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def backing():
    return _BACKING


@pytest.fixture(scope="session")
def app():
    from shared.api.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def live_api(app):
    """The API served on the port PUBLIC_BASE_URL names, so the QStash emulator can deliver to it."""
    server = services.ServerThread(app, port=_API_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def token():
    from shared.security.tokens import issue_session_token

    return issue_session_token()[0]


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def db():
    from shared.db import connection

    with connection() as conn:
        yield conn


@pytest.fixture
def redis_raw(backing):
    import redis

    r = redis.Redis.from_url(backing.redis_url, decode_responses=True)
    yield r
    r.close()


@pytest.fixture
def clean_state(backing):
    """Empty every table (but the migration record) and the Redis keyspace before the test, and QStash's queue:
    messages earlier tests left pending (a dispatcher wake-up, an engine retry) and schedules an earlier test
    synced would otherwise land mid-test and run there."""
    import redis

    from shared.db import connection

    for m in list(backing.emulator.state.messages.values()):
        if m.state == "pending":
            m.state = "cancelled"
    backing.emulator.state.schedules.clear()

    with connection() as conn:
        _empty_tables(conn)
    r = redis.Redis.from_url(backing.redis_url)
    r.flushdb()
    r.close()
    return


# Tables holding more rows than this are TRUNCATEd; smaller ones are DELETEd. TRUNCATE costs ~20 ms a table
# whatever it holds (new files, WAL, a commit flush), which across ~30 tables and ~600 tests was a third of the
# suite's time; deleting the few rows a test leaves costs about a millisecond.
_DELETE_AT_MOST = 2000


def _empty_tables(conn) -> None:
    """Every table but the migration record emptied and every sequence restarted, as `TRUNCATE ... RESTART
    IDENTITY CASCADE` of them all would, at a fraction of its cost.

    The ACCESS EXCLUSIVE locks come first, as TRUNCATE's would: a previous test's background work (the live API
    answering a late QStash delivery) finishes its transaction before the rows are counted, so nothing it
    writes survives. Triggers and foreign-key checks are off for the transaction (`session_replication_role`):
    every table ends empty, so no reference can dangle, and the dashboard's counter triggers have nothing to
    count. Postgres may break a lock cycle with that background work by aborting us, which is safe to repeat."""
    import psycopg

    tables = [r["tablename"] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
    if not tables:
        return
    listed = ", ".join(f'"{t}"' for t in tables)
    sizes = " UNION ALL ".join(
        f"SELECT '{t}' AS t, (SELECT count(*) FROM (SELECT 1 FROM \"{t}\" LIMIT {_DELETE_AT_MOST + 1}) s) AS n"
        for t in tables)
    for attempt in range(5):
        try:
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                conn.execute(f"LOCK TABLE {listed} IN ACCESS EXCLUSIVE MODE")
                held = {r["t"]: r["n"] for r in conn.execute(sizes)}
                big = [t for t, n in held.items() if n > _DELETE_AT_MOST]
                if big:
                    # CASCADE: a table referencing a big one cannot stay behind (it is emptied here anyway)
                    conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in big) + " CASCADE")
                for t, n in held.items():
                    if 0 < n <= _DELETE_AT_MOST:
                        conn.execute(f'DELETE FROM "{t}"')
            break
        except psycopg.errors.DeadlockDetected:
            if attempt == 4:
                raise
            time.sleep(0.2)
    # RESTART IDENTITY: the sequences the emptied tables' columns own (a sequence never read has nothing to
    # restart); setval is not transactional anyway
    conn.execute(
        "SELECT setval(s.oid, ps.start_value, false) FROM pg_depend d"
        " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace"
        " JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = s.relname"
        " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
        " AND n.nspname = 'public' AND t.relname <> 'schema_migrations' AND ps.last_value IS NOT NULL")


def pytest_sessionfinish(session, exitstatus):
    from shared.db import close_pool

    close_pool()
    _BACKING.stop()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture
def fresh_dashboard_caches():
    """The dashboard's and the usage report's warm-instance caches emptied before and after a test."""
    from shared.dashboard import stats
    from shared.usage import report

    stats.clear_cache()
    report.clear_cache()
    yield
    stats.clear_cache()
    report.clear_cache()
