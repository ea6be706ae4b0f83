"""Two local stacks on one machine never share data by accident.

`make dev` uses a Postgres and a Redis already running on the machine when they answer. Two checkouts (or two
data folders) would then read and write the same database and keyspace, each with its own encryption keys in
its own `secrets.json`: settings one stack encrypted would be unreadable to the other, and one stack's ticks
would post the other's items. So each data folder claims its own:

- Postgres: a database named after the data folder (`screndly_<folder>_<hash of its path>`), marked with a
  database comment naming the folder. A data folder from before this rule keeps its `screndly` database if no
  other folder has claimed it.
- Redis: a database index (0-15) of its own, claimed with a key naming the folder; the index derived from the
  folder's path is tried first, then the next free one (empty and unclaimed: keys without an owner are some
  other program's). With none free, `make dev` refuses and says why.

The choice is written to `<data folder>/stack.json` so it survives a restart (and a moved folder keeps its
data). A `DATABASE_URL` or `REDIS_URL` you set is used as given: pointing two stacks at one on purpose is
allowed. The embedded servers live inside the data folder and are private anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

LEGACY_DATABASE = "screndly"
OWNER_KEY = "screndly:local:owner"  # in each Redis database a stack uses: the data folder that owns it
REDIS_DATABASES = 16  # Redis's default `databases`


class StackConflict(RuntimeError):
    """Another local stack owns what this one would use."""


def folder_hash(data_dir: Path) -> str:
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()


def database_name(data_dir: Path) -> str:
    """`screndly_<checkout folder>_<6 hex of the data folder's path>`, a valid unquoted Postgres name."""
    d = data_dir.resolve()
    label = d.parent.name if d.name.startswith(".") or d.name in ("local", "data") else d.name
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:30] or "stack"
    return f"screndly_{slug}_{folder_hash(d)[:6]}"


def _claims_file(data_dir: Path) -> Path:
    return data_dir / "stack.json"


def load_claims(data_dir: Path) -> dict:
    path = _claims_file(data_dir)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_claims(data_dir: Path, **values) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    claims = {**load_claims(data_dir), **values}
    _claims_file(data_dir).write_text(json.dumps(claims, indent=2))


def mark_new(data_dir: Path) -> None:
    """Called when a data folder is first set up: it never had a pre-isolation database to keep."""
    save_claims(data_dir, new=True)


def _owner_label(data_dir: Path) -> str:
    return f"screndly local stack: {data_dir.resolve()}"


def claim_postgres_database(admin_url: str, data_dir: Path) -> str:
    """Create (or reuse) this data folder's database on a shared server; returns its name."""
    import psycopg

    claims = load_claims(data_dir)
    mine = _owner_label(data_dir)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        def comment(name: str) -> str | None:
            row = conn.execute("SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database "
                               "WHERE datname = %s", (name,)).fetchone()
            return None if row is None else (row[0] or "")

        name = claims.get("database")
        if not name:
            legacy = comment(LEGACY_DATABASE)
            ran_before = (data_dir / "secrets.json").exists() and not claims.get("new")
            # a folder that ran before this rule keeps its data, unless another folder already took it
            name = LEGACY_DATABASE if legacy is not None and ran_before and legacy in ("", mine) \
                else database_name(data_dir)
        owner = comment(name)
        if owner not in (None, "", mine) and owner.startswith("screndly local stack: "):
            raise StackConflict(f"the Postgres database {name} belongs to another local stack "
                                f"({owner.removeprefix('screndly local stack: ')}); use that folder's stack, "
                                f"or give this one its own database with DATABASE_URL")
        if owner is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        if owner != mine:
            conn.execute(f'COMMENT ON DATABASE "{name}" IS ' + "'" + mine.replace("'", "''") + "'")
    save_claims(data_dir, database=name)
    return name


def claim_redis_db(base_url: str, data_dir: Path) -> str:
    """This data folder's Redis database on a shared server: `<base_url without db>/<index>`."""
    import redis

    mine = str(data_dir.resolve())
    claims = load_claims(data_dir)
    start = claims.get("redisDb")
    if start is None:
        start = int(folder_hash(data_dir)[:8], 16) % REDIS_DATABASES
    root = re.sub(r"/\d*$", "", base_url.split("?")[0])
    taken: list[str] = []
    for i in range(REDIS_DATABASES):
        index = (int(start) + i) % REDIS_DATABASES
        client = redis.Redis.from_url(f"{root}/{index}", socket_timeout=3, decode_responses=True)
        try:
            owner = client.get(OWNER_KEY)
            # an unowned database is taken only when empty: keys without an owner are someone else's data
            if owner == mine or (owner is None and client.dbsize() == 0 and client.set(OWNER_KEY, mine, nx=True)):
                save_claims(data_dir, redisDb=index)
                return f"{root}/{index}"
            holder = owner or client.get(OWNER_KEY) or "data of something else"
            taken.append(f"{index}: {holder!s}")
        finally:
            client.close()
    raise StackConflict("every Redis database on " + root + " belongs to another local stack (" +
                        "; ".join(taken) + "); stop one, set REDIS_URL to a Redis of your own, or free a "
                        f"database with `redis-cli -n <index> del {OWNER_KEY}`")
