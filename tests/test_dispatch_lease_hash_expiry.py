"""The leases hash (`dispatch:leases`) always expires, and a script that writes a lease only ever lengthens its
expiry, to twice the lease it writes: a new hash gets one, one whose expiry is shorter gets the longer one, and
one that lives longer (another tick's longer lease) keeps its own, in one call (`PEXPIRE ... GT` on a hash that
existed), or on Redis 6.2 (the embedded one of a laptop without Redis, which has no GT) a PTTL first."""

from __future__ import annotations

import time

import pytest

from shared.scheduling import dispatch

ITEM = "test.expiry|a"


@pytest.fixture
def r(clean_state, redis_raw):
    return redis_raw


def _take(r, script: str, now: float, lease: float) -> list[str]:
    """Lease ITEM (due now) with the given script, as a tick would."""
    if script == "pop":
        return r.eval(dispatch._POP, 3, dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY,
                      repr(now), repr(lease), "10")[0]
    if script == "early":
        return r.eval(dispatch._EARLY, 2, dispatch.DUE_KEY, dispatch.LEASE_KEY, repr(now), repr(lease),
                      "test.expiry|", repr(now + 3600))
    return r.eval(dispatch._CLAIM, 2, dispatch.DUE_KEY, dispatch.LEASE_KEY, repr(now), repr(lease), ITEM)


@pytest.mark.parametrize("script", ["pop", "early", "claim"])
@pytest.mark.parametrize("before", ["none", "shorter", "longer"])
def test_a_lease_written_leaves_the_hash_expiring_no_sooner_than_twice_its_lease(r, script, before):
    now = time.time()
    r.zadd(dispatch.DUE_KEY, {ITEM: now - 1})
    if before != "none":  # another tick's record, with the expiry its script set
        r.hset(dispatch.LEASE_KEY, "test.other|b", repr(now + 100))
        r.pexpire(dispatch.LEASE_KEY, 200_000 if before == "shorter" else 2_000_000)
    assert _take(r, script, now, now + 300) == [ITEM]
    assert r.hget(dispatch.LEASE_KEY, ITEM) == repr(now + 300)
    ttl = r.pttl(dispatch.LEASE_KEY)
    if before == "longer":
        assert 1_990_000 < ttl <= 2_000_000, "a longer expiry was cut short"
    else:
        assert 590_000 < ttl <= 600_000, f"expected twice the lease (600 s), found {ttl} ms"
