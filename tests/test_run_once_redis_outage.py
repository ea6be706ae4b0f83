"""QStash deliveries while Redis (a real, private redis-server behind the REST bridge) goes away and comes back:
the run-once guard never runs an effect twice."""

from __future__ import annotations

import time

import pytest

from shared.messaging import receiver
from shared.messaging.receiver import Delivery, run_once


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    from shared.config import get_config
    from shared.local.restartable import RestartableRedis
    from shared.redis_client import reset_redis_client

    redis = RestartableRedis(tmp_path)
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", redis.bridge.url)
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", redis.token)
    get_config.cache_clear()
    reset_redis_client()
    yield redis
    redis.close()
    monkeypatch.undo()
    get_config.cache_clear()
    reset_redis_client()


def test_redis_dying_mid_effect_cannot_make_it_run_twice(private_redis, monkeypatch):
    from shared.redis_client import is_outage

    monkeypatch.setattr(receiver, "_RUNNING_TTL", 1)  # the claim of a crashed run expires fast here
    runs = []

    def effect():
        runs.append(1)
        private_redis.stop()  # Redis goes away while the job runs
        return "ran"

    # the effect ran: QStash is told so, though the done-marker could not be written
    assert run_once(Delivery("msg_mid", 0, None, b"{}", signature_id="sig-a"), effect) == "ran"
    # a redelivery while Redis is down cannot claim: the route answers 503 and QStash retries later
    with pytest.raises(Exception) as err:
        run_once(Delivery("msg_mid", 1, None, b"{}", signature_id="sig-b"), effect)
    assert is_outage(err.value)
    private_redis.start()
    time.sleep(1.2)  # past the claim's lifetime: only the done-marker can stop a second run now
    again = run_once(Delivery("msg_mid", 2, None, b"{}", signature_id="sig-c"), effect)
    assert again == {"duplicate": True, "messageId": "msg_mid"}
    assert runs == [1]


def test_a_delivery_during_the_outage_runs_once_after_it(private_redis):
    runs = []
    private_redis.stop()
    # whatever the client raises (the local bridge answers a bare 500): the point is that the delivery fails, so
    # QStash retries it, and the effect did not run
    with pytest.raises(Exception):  # noqa: B017
        run_once(Delivery("msg_later", 0, None, b"{}", signature_id="sig-1"), lambda: runs.append(1))
    assert runs == []
    private_redis.start()
    run_once(Delivery("msg_later", 1, None, b"{}", signature_id="sig-2"), lambda: runs.append(1))
    assert run_once(Delivery("msg_later", 2, None, b"{}", signature_id="sig-3"), lambda: runs.append(1)) == {
        "duplicate": True, "messageId": "msg_later"}
    assert runs == [1]
