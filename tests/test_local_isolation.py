"""Two local stacks on one machine never share data by accident: each data folder claims its own Postgres
database and its own Redis database on the machine's shared servers (shared/local/isolation.py)."""

from __future__ import annotations

import psycopg
import pytest
import redis

from shared.local import isolation, services


@pytest.fixture
def admin(backing) -> str:
    """The maintenance database of the server the test session runs on: the machine's shared server here, the
    embedded one on a laptop without Postgres (it stands for a shared server the same way)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(backing.env["DATABASE_URL"], dbname="postgres")


@pytest.fixture
def pg_names(admin):
    created: list[str] = []
    yield created
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _comment(admin: str, name: str) -> str | None:
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (name,)).fetchone()
    return row[0] if row else None


def test_each_data_folder_gets_its_own_postgres_database(tmp_path, pg_names, monkeypatch, backing, admin):
    # the test session's own database stands for the old shared name "screndly" (one CREATE/DROP less: on a
    # busy server each DROP DATABASE waits for a checkpoint)
    from psycopg.conninfo import conninfo_to_dict

    legacy = str(conninfo_to_dict(backing.env["DATABASE_URL"])["dbname"])
    monkeypatch.setattr(isolation, "LEGACY_DATABASE", legacy)
    old, other, fresh = tmp_path / "old" / ".local", tmp_path / "checkout-b" / ".local", tmp_path / "new" / ".local"
    for d in (old, other):
        d.mkdir(parents=True)
        (d / "secrets.json").write_text("{}")  # both ran `make dev` before isolation existed
    # a folder from before keeps its database, once: the next one gets a database named after its folder
    assert isolation.claim_postgres_database(admin, old) == legacy
    assert _comment(admin, legacy) == f"screndly local stack: {old.resolve()}"
    mine = isolation.claim_postgres_database(admin, other)
    pg_names.append(mine)
    assert mine.startswith("screndly_checkout_b_") and mine != legacy
    assert _comment(admin, mine) == f"screndly local stack: {other.resolve()}"
    assert isolation.claim_postgres_database(admin, other) == mine  # a restart finds its own again
    assert isolation.load_claims(other)["database"] == mine
    isolation.mark_new(fresh)
    assert isolation.database_name(fresh) not in (legacy, mine)  # a new folder never takes the old one

    # a folder whose recorded database belongs to another folder is refused, with the way out
    isolation.save_claims(fresh, database=mine)
    with pytest.raises(isolation.StackConflict) as err:
        isolation.claim_postgres_database(admin, fresh)
    assert str(other.resolve()) in str(err.value) and "DATABASE_URL" in str(err.value)


@pytest.fixture
def shared_redis(tmp_path):
    server = services.redis_private(tmp_path)  # a machine-wide Redis stand-in only this test uses
    yield server.url.rsplit("/", 1)[0]
    server.stop()


def test_each_data_folder_gets_its_own_redis_database(tmp_path, shared_redis):
    a, b = tmp_path / "a" / ".local", tmp_path / "b" / ".local"
    url_a = isolation.claim_redis_db(shared_redis, a)
    url_b = isolation.claim_redis_db(shared_redis, b)
    assert url_a != url_b and isolation.claim_redis_db(shared_redis, a) == url_a
    r = redis.Redis.from_url(url_a, decode_responses=True)
    assert r.get(isolation.OWNER_KEY) == str(a.resolve())
    r.close()

    # a database holding someone else's keys (no owner) is never taken; when none is left, refuse and say why
    for i in range(isolation.REDIS_DATABASES):
        c = redis.Redis.from_url(f"{shared_redis}/{i}")
        if not c.exists(isolation.OWNER_KEY):
            c.set("someone:else", "1")
        c.close()
    with pytest.raises(isolation.StackConflict) as err:
        isolation.claim_redis_db(shared_redis, tmp_path / "c" / ".local")
    assert "REDIS_URL" in str(err.value) and str(a.resolve()) in str(err.value)
    assert isolation.claim_redis_db(shared_redis, b) == url_b  # the owners still get theirs
