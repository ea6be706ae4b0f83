"""The Upstash REST bridge answers like Upstash where our code could notice (upstash/docs @ ef0ce43,
`redis/features/restapi.mdx`): Redis error prefixes kept, JSON errors with the documented statuses, malformed
bodies refused with a JSON 400. Driven by the official `upstash-redis` client and raw HTTP."""

from __future__ import annotations

import httpx
import pytest
from upstash_redis import Redis
from upstash_redis.errors import UpstashError


@pytest.fixture
def rest(backing):
    env = backing.env
    return env["UPSTASH_REDIS_REST_URL"], env["UPSTASH_REDIS_REST_TOKEN"]


@pytest.fixture
def upstash(rest, clean_state):
    url, token = rest
    return Redis(url=url, token=token, rest_retries=0)


def _error(fn) -> str:
    with pytest.raises(UpstashError) as err:
        fn()
    return str(err.value)


def test_redis_error_prefixes_reach_the_official_client(upstash):
    upstash.set("bridge:s", "text")
    assert _error(lambda: upstash.lpush("bridge:s", "x")).startswith(
        "WRONGTYPE Operation against a key holding the wrong kind of value")
    assert _error(lambda: upstash.incr("bridge:s")) == "ERR value is not an integer or out of range"
    assert _error(lambda: upstash.execute(["GET"])) == "ERR wrong number of arguments for 'get' command"
    assert _error(lambda: upstash.evalsha("0" * 40, keys=["bridge:s"])).startswith("NOSCRIPT ")
    assert _error(lambda: upstash.execute(["NOSUCHCOMMAND"])).startswith("ERR unknown command")
    # what the prefix is for: a caller that falls back from EVALSHA to EVAL on NOSCRIPT
    sha = upstash.script_load("return 7")
    assert upstash.evalsha(sha) == 7


def test_pipeline_and_transaction_errors_keep_the_prefix_in_place(rest, clean_state):
    url, token = rest
    h = {"Authorization": f"Bearer {token}"}
    out = httpx.post(f"{url}/pipeline", headers=h, json=[["SET", "bridge:p", "1"], ["LPUSH", "bridge:p", "x"],
                                                         ["INCR", "bridge:p"]]).json()
    assert out[0] == {"result": "OK"} and out[2] == {"result": 2}
    assert out[1]["error"].startswith("WRONGTYPE ")
    out = httpx.post(f"{url}/multi-exec", headers=h, json=[["SET", "bridge:m", "a"], ["INCR", "bridge:m"]]).json()
    assert out == [{"result": "OK"}, {"error": "ERR value is not an integer or out of range"}]
    r = httpx.post(f"{url}/multi-exec", headers=h, json=[["SET", "bridge:m", "a"], ["NOSUCHCOMMAND"]])
    assert r.status_code == 400 and r.json()["error"].startswith("ERR ")  # discarded as a whole


@pytest.mark.parametrize("path", ["", "/pipeline", "/multi-exec"])
@pytest.mark.parametrize("body", [b"not json", b"{}", b"[]", b'"GET"', b"[[]]", b'[["SET", "k", {"x": 1}]]',
                                  b"[null]", b'[["SET", "k", true]]'])
def test_malformed_bodies_get_a_json_400(rest, path, body):
    url, token = rest
    if path == "" and body.startswith(b"[["):
        body = body[1:-1]  # the single-command form of the same mistake
    r = httpx.post(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, content=body)
    assert r.status_code == 400, (path, body, r.text)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"].startswith("ERR ")


def test_unauthorized_is_a_json_401(rest):
    url, _ = rest
    r = httpx.post(url, headers={"Authorization": "Bearer wrong"}, json=["PING"])
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
