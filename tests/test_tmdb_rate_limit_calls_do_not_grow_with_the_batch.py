"""The shared TMDb limiter takes a batch of n grants with one variadic ZADD: its script makes the same calls for
one grant as for forty (Upstash bills every call a script makes). Counted on the real Redis's MONITOR stream."""

from redis_script_calls import ScriptCalls

from shared.tmdb.ratelimit import Budget, SharedLimiter


def test_forty_grants_make_the_calls_one_grant_makes(backing, clean_state, redis_raw):
    with ScriptCalls(backing.redis_url) as calls:
        for n in (1, 40):
            assert SharedLimiter(Budget(40, 10.0), key=f"tmdb:ratelimit:calls{n}")._try(n) == 0
    one, forty = calls.one("tmdb:ratelimit:calls1 "), calls.one("tmdb:ratelimit:calls40 ")
    assert one.calls == forty.calls == ["ZREMRANGEBYSCORE", "ZCARD", "ZADD", "PEXPIRE"]
    assert redis_raw.zcard("tmdb:ratelimit:calls40") == 40  # every grant is in the window's log
    assert SharedLimiter(Budget(40, 10.0), key="tmdb:ratelimit:calls40")._try(1) > 0  # and counts against it
