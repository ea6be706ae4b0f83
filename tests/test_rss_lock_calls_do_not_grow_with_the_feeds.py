"""The feed locks of a tick are fields of one hash, so taking and releasing them costs the same calls inside the
scripts for one feed as for fifty (Upstash bills every call a script makes; a SET NX per feed cost ~1,500 calls
a day in the live day simulation). The locks keep their meaning: one holder per feed, a stranger's release frees
nothing, and a crashed holder's lock frees itself after `seconds`. Counted on the real Redis's MONITOR stream."""

import uuid

import pytest
from redis_script_calls import ScriptCalls

from shared.rss import locks


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def test_taking_and_releasing_fifty_locks_makes_the_calls_one_lock_makes(backing, clean_state):
    tokens = {n: uuid.uuid4().hex for n in (1, 50)}
    with ScriptCalls(backing.redis_url) as calls:
        for n, token in tokens.items():
            ids = _ids(n)
            assert locks.acquire("rss-feed", ids, token, 120) == ids
            assert locks.release("rss-feed", ids, token) == n
    taken = [s.calls for s in calls.with_arg(tokens[1]) + calls.with_arg(tokens[50])]
    assert taken == [["HMGET", "HSET", "PEXPIRE"], ["HMGET", "HDEL"]] * 2


def test_one_holder_per_feed_and_a_strangers_release_frees_nothing(backing, clean_state):
    a, b = _ids(3), _ids(2)
    assert locks.acquire("rss-feed", a, "tick-1", 120) == a
    assert locks.acquire("rss-feed", a[1:] + b, "tick-2", 120) == b  # the refresh's feeds held by tick 1: skipped
    assert locks.release("rss-feed", a, "tick-2") == 0
    assert locks.acquire("rss-feed", a, "manual", 120) == []
    assert locks.release("rss-feed", a, "tick-1") == 3
    assert locks.acquire("rss-feed", a[:1], "manual", 120) == a[:1]
    assert locks.acquire("yt-channel", a[:1], "channels", 120) == a[:1]  # each kind has its own hash


def test_a_crashed_holders_lock_frees_itself_after_its_seconds(backing, clean_state, redis_raw, monkeypatch):
    ids = _ids(2)
    assert locks.acquire("rss-feed", ids, "crashed", 120) == ids  # and never released
    assert 0 < redis_raw.pttl(locks.lock_key("rss-feed")) <= 120_000  # Redis drops the whole hash by then
    now = locks._now_ms()
    monkeypatch.setattr(locks, "_now_ms", lambda: now + 119_000)
    assert locks.acquire("rss-feed", ids, "next", 120) == []
    monkeypatch.setattr(locks, "_now_ms", lambda: now + 121_000)
    assert locks.acquire("rss-feed", ids, "next", 120) == ids
    assert locks.release("rss-feed", ids, "crashed") == 0  # the late holder frees nothing of the new one's


def test_a_shorter_lock_never_shortens_the_hash_a_longer_one_needs(backing, clean_state, redis_raw):
    assert locks.acquire("rss-feed", _ids(1), "long", 600)
    assert locks.acquire("rss-feed", _ids(1), "short", 5)
    assert redis_raw.pttl(locks.lock_key("rss-feed")) > 5_000


@pytest.mark.parametrize("ids", [[], ["f1", "f1"]])
def test_no_ids_and_repeated_ids(backing, clean_state, ids):
    assert locks.acquire("rss-feed", ids, "t", 60) == ids[:1]
    assert locks.release("rss-feed", ids, "t") == len(ids[:1])


def test_thousands_of_locks_at_once(backing, clean_state):
    """A refresh of every feed locks them all in one call: past ~4,000 ids Lua's `unpack` used to fail."""
    ids = [str(uuid.uuid4()) for _ in range(9000)]
    assert locks.acquire("rss-feed", ids, "t1", 60) == ids
    extra = str(uuid.uuid4())
    assert locks.acquire("rss-feed", [*ids[:10], extra], "t2", 60) == [extra]  # the others are t1's
    assert locks.release("rss-feed", ids, "t1") == 9000
    assert locks.acquire("rss-feed", ids, "t2", 60) == ids
