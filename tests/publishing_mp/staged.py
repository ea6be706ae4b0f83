"""Time passing for staged posts (shared/publishing/staging), as publishing_time.py does for claims: a slot that
comes now, a grace or a lease that ran out, moved in Redis (the stage record) and Postgres (the row's
not_before) instead of waited for; and a guard that fails on any database statement."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

# The tests' Redis is a private process that keeps nothing on disk and has no replica: whatever it loses it
# loses whole, which the write-back's look-up covers, so these tests ask for no durability gate. The gate itself
# is proven against a real primary and replica in test_publishing_staged_durability_gate.py.
NO_DURABILITY_GATE = "none"


@pytest.fixture
def staging(monkeypatch):
    """Pre-staging on, no durability gate, short leases; the test drives every step itself (no wake-ups)."""
    from shared.config import get_config
    from shared.scheduling import dispatch

    monkeypatch.setenv("PUBLISH_STAGING", "1")
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", NO_DURABILITY_GATE)
    monkeypatch.setenv("PUBLISH_STAGE_LEASE_SECONDS", "30")
    monkeypatch.setenv("PUBLISH_HTTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    get_config.cache_clear()
    yield
    get_config.cache_clear()


def _redis_now() -> float:
    """The clock the stage scripts are given (shared.clock, the dispatcher's)."""
    from shared import clock

    return clock.time()


def bring_slot(pub_id: str, seconds_ago: float = 0.5, grace: float | None = None) -> float:
    """The stage's slot is now (and the row's not_before with it). Returns the new slot."""
    from shared.config import get_config
    from shared.db import connection
    from shared.publishing.staging import record
    from shared.redis_client import get_redis

    slot = _redis_now() - seconds_ago
    grace = get_config().publish_stage_grace_seconds if grace is None else grace
    get_redis().hset(record.key(pub_id), values={"slot": repr(slot), "grace_until": repr(slot + grace)})
    get_redis().zadd(record.INDEX_KEY, {pub_id: slot})
    with connection() as c:  # the look-up hints saved at the stage move with the slot they were taken from
        c.execute("""UPDATE publications SET not_before = to_timestamp(%(slot)s),
                         progress = CASE WHEN progress ? 'staged_lookup' THEN jsonb_set(jsonb_set(progress,
                             '{staged_lookup,commit_at}', to_jsonb(%(slot)s::float8)),
                             '{staged_lookup,commit_by}', to_jsonb(%(until)s::float8)) ELSE progress END
                     WHERE id = %(id)s""", {"slot": slot, "until": slot + grace, "id": pub_id})
    return slot


def pass_grace(pub_id: str) -> None:
    """The slot and its grace are over (a stage nobody sent is now the write-back's)."""
    from shared.config import get_config

    bring_slot(pub_id, seconds_ago=get_config().publish_stage_grace_seconds + 5)


def expire_stage_lease(pub_id: str) -> None:
    from shared.publishing.staging import record
    from shared.redis_client import get_redis

    get_redis().hset(record.key(pub_id), "lease_until", repr(_redis_now() - 1))


@contextlib.contextmanager
def no_database() -> Iterator[list[str]]:
    """Any attempt to reach Postgres inside the block fails (and is listed): the pool itself refuses."""
    import importlib

    conn_module = importlib.import_module("shared.db.connection")

    attempts: list[str] = []
    real = conn_module.get_pool

    def refuse():
        import traceback

        attempts.append("".join(traceback.format_stack(limit=8)))
        raise AssertionError("a database statement on the staged send path")

    conn_module.get_pool = refuse  # type: ignore[assignment]
    try:
        yield attempts
    finally:
        conn_module.get_pool = real  # type: ignore[assignment]
