"""A connection that changes reaches the comment poll at once: a disconnected account is no longer read and its
token leaves Redis; a new token or rotated keys drop the copy of the old one; a copy nobody rebuilds expires."""

from __future__ import annotations

import json
import time

import pytest
from publishing_fakes.comments_world import (  # noqa: F401  (fixtures)
    comment_settings,
    comment_world,
    connect_for_comments,
    openai_replies,
    publish_posts,
)
from publishing_fakes.world import world  # noqa: F401  (fixture)
from test_comments_dispatch import quiet, settings  # noqa: F401  (fixture)

from shared.comments.mirror import MIRROR_KEY
from shared.comments.timing import COPY_TTL_SECONDS, SYNC_SECONDS
from shared.scheduling import dispatch


@pytest.fixture
def polled_copy(quiet, comment_world, redis_raw):
    """Facebook connected, comments on, one full poll ran: the copy holds facebook's (encrypted) token."""
    connect_for_comments(comment_world, "facebook")
    publish_posts(comment_world, ["facebook"], tag="dc")
    settings(**comment_settings())
    dispatch.arm([("comments.run", "all", time.time())], wake=False)
    dispatch.tick()
    copy = json.loads(redis_raw.hget(MIRROR_KEY, "all"))
    assert copy["platforms"]["facebook"]["token"]
    return comment_world


def _switch(redis_raw) -> dict:
    return json.loads(redis_raw.hget(dispatch.META_KEY, "comments.switch"))


def test_disconnecting_stops_the_peeks_and_removes_the_token_from_redis(polled_copy, redis_raw, db):
    from shared.publishing.connections.service import disconnect

    disconnect("facebook")
    assert "facebook" not in _switch(redis_raw)["platforms"]  # the next peek does not read it
    assert redis_raw.hget(MIRROR_KEY, "all") is None  # nor holds its token
    # a sync afterwards (nothing ready) leaves no copy behind either
    dispatch.arm([("comments.sync", "all", time.time())], wake=False)
    assert dispatch.tick().get("ran.comments.sync") == 1
    assert redis_raw.hget(MIRROR_KEY, "all") is None


def test_a_sync_with_nothing_ready_deletes_a_copy_left_behind(polled_copy, redis_raw, db):
    """E.g. a copy written by a window that read the connection just before it was deleted."""
    db.execute("DELETE FROM platform_connections WHERE platform='facebook'")  # (no hook: as if behind its back)
    assert redis_raw.hget(MIRROR_KEY, "all") is not None
    dispatch.arm([("comments.sync", "all", time.time())], wake=False)
    dispatch.tick()
    assert redis_raw.hget(MIRROR_KEY, "all") is None


def test_the_peeks_spending_is_charged_before_the_copy_goes(polled_copy, redis_raw, db):
    from shared.comments import caps
    from shared.publishing.connections.service import disconnect

    copy = json.loads(redis_raw.hget(MIRROR_KEY, "all"))
    period = caps.period("graph_calls", __import__("shared.clock", fromlist=["now"]).now())
    copy["platforms"]["facebook"]["unbilled"] = {period: 7}
    redis_raw.hset(MIRROR_KEY, "all", json.dumps(copy))
    before = db.execute("SELECT coalesce(sum(used), 0) AS n FROM comment_usage WHERE platform='facebook'").fetchone()
    disconnect("facebook")
    after = db.execute("SELECT coalesce(sum(used), 0) AS n FROM comment_usage WHERE platform='facebook'").fetchone()
    assert after["n"] == before["n"] + 7


def test_a_new_token_or_rotated_keys_drop_the_copy_of_the_old_one(polled_copy, redis_raw):
    from shared.publishing.connections import store

    polled_copy.connect("facebook")  # connected again: a new token saved
    assert redis_raw.hget(MIRROR_KEY, "all") is None
    assert "facebook" in _switch(redis_raw)["platforms"]
    dispatch.arm([("comments.run", "all", time.time())], wake=False)
    dispatch.tick()
    assert redis_raw.hget(MIRROR_KEY, "all") is not None
    assert store.rotate_keys() == 0  # nothing under an old key: nothing changes, the copy stays
    assert redis_raw.hget(MIRROR_KEY, "all") is not None


def test_rotating_the_keys_drops_the_copy_encrypted_under_the_old_one(polled_copy, redis_raw, monkeypatch):
    import base64
    import os

    from shared.config import get_config
    from shared.publishing.connections import store

    old_keys = os.environ["ENCRYPTION_KEYS"]
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{base64.b64encode(os.urandom(32)).decode()},{old_keys}")
    get_config.cache_clear()
    try:
        assert store.rotate_keys() == 1
        assert redis_raw.hget(MIRROR_KEY, "all") is None
    finally:
        monkeypatch.setenv("ENCRYPTION_KEYS", old_keys)
        get_config.cache_clear()


def test_the_copy_expires_a_little_after_the_longest_gap_between_rebuilds(polled_copy, redis_raw):
    ttl = redis_raw.ttl(MIRROR_KEY)
    assert SYNC_SECONDS < COPY_TTL_SECONDS <= SYNC_SECONDS + 2 * 3600
    assert COPY_TTL_SECONDS - 60 <= ttl <= COPY_TTL_SECONDS


def test_a_peek_write_back_does_not_overwrite_a_copy_rebuilt_meanwhile(polled_copy, redis_raw, monkeypatch):
    """The peek read the copy at its pop; a window rebuilt it before the peek's commit: the rebuild stays."""
    from shared.comments import mirror

    real = mirror.peek

    def peek_during_rebuild(copy, platforms, now):
        out = real(copy, platforms, now)
        out.read = max(out.read, 1)  # it read the platform (units to write back)
        rebuilt = dict(copy, built=now + 1, marker="rebuilt by a window")
        redis_raw.hset(MIRROR_KEY, "all", json.dumps(rebuilt))  # the concurrent window's commit
        return out

    monkeypatch.setattr(mirror, "peek", peek_during_rebuild)
    redis_raw.hset(dispatch.META_KEY, "comments.last_poll", f"{time.time() - 3600:.3f}")
    dispatch.arm([("comments.poll", "all", time.time())], wake=False)
    report = dispatch.tick()
    assert report.get("comments.peeked") == 1
    assert json.loads(redis_raw.hget(MIRROR_KEY, "all")).get("marker") == "rebuilt by a window"
