"""The QStash emulator behaves like QStash for the subset we use, driven by the real `qstash` client, and its
deliveries verify with the real `qstash.Receiver`."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from qstash import QStash, Receiver

from shared.local import services
from shared.local.qstash_emulator import create_emulator, parse_duration

CURRENT = "sig_current_" + "c" * 40
NEXT = "sig_next_" + "n" * 40
TOKEN = "emulator-token"


class Sink:
    """A destination app that records what arrives and answers with scripted statuses."""

    def __init__(self):
        self.calls: list[dict] = []
        self.script: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        app = FastAPI()

        @app.api_route("/hook/{name}", methods=["POST", "PUT"])
        async def hook(name: str, request: Request):
            body = await request.body()
            with self.lock:
                self.calls.append({"name": name, "body": body, "headers": dict(request.headers), "at": time.time()})
                statuses = self.script.get(name) or [200]
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            headers = {"Upstash-NonRetryable-Error": "true"} if status == 489 else {}
            return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

        self.app = app

    def named(self, name):
        return [c for c in self.calls if c["name"] == name]


@pytest.fixture(scope="module")
def world():
    sink = Sink()
    sink_server = services.ServerThread(sink.app).start()
    emulator = create_emulator(TOKEN, CURRENT, NEXT, retry_base_seconds=0.05, tick_seconds=0.02)
    em_server = services.ServerThread(emulator.app).start()
    client = QStash(TOKEN, base_url=em_server.url)
    yield sink, sink_server.url, emulator, client, em_server.url
    em_server.stop()
    sink_server.stop()


def wait_for(pred, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_duration_parsing():
    assert parse_duration("10s") == 10
    assert parse_duration("2m") == 120
    assert parse_duration("1h30m") == 5400
    assert parse_duration(None) == 0


def test_publish_delivers_signed_message_that_receiver_accepts(world):
    sink, base, emulator, client, em_url = world
    url = f"{base}/hook/signed"
    res = client.message.publish_json(url=url, body={"hello": "world"}, headers={"X-Custom": "1"})
    assert wait_for(lambda: sink.named("signed"))
    call = sink.named("signed")[0]
    h = call["headers"]
    assert json.loads(call["body"]) == {"hello": "world"}
    assert h["upstash-message-id"] == res.message_id
    assert h["upstash-retried"] == "0"
    assert h["x-custom"] == "1"  # Upstash-Forward-* headers arrive without the prefix
    receiver = Receiver(current_signing_key=CURRENT, next_signing_key=NEXT)
    receiver.verify(signature=h["upstash-signature"], body=call["body"].decode(), url=url)
    with pytest.raises(Exception):
        receiver.verify(signature=h["upstash-signature"], body=call["body"].decode() + " ", url=url)
    with pytest.raises(Exception):
        receiver.verify(signature=h["upstash-signature"], body=call["body"].decode(), url=url + "?x=1")
    with pytest.raises(Exception):
        Receiver(current_signing_key="x" * 40, next_signing_key="y" * 40).verify(
            signature=h["upstash-signature"], body=call["body"].decode(), url=url)


def test_delay_holds_the_message_back(world):
    sink, base, emulator, client, em_url = world
    t0 = time.time()
    client.message.publish_json(url=f"{base}/hook/delayed", body={}, delay="1s")
    time.sleep(0.5)
    assert not sink.named("delayed")
    assert wait_for(lambda: sink.named("delayed"), 10)
    assert sink.named("delayed")[0]["at"] - t0 >= 0.95


def test_not_before_is_honoured(world):
    sink, base, emulator, client, em_url = world
    t0 = time.time()
    client.message.publish_json(url=f"{base}/hook/notbefore", body={}, not_before=int(t0) + 2)
    time.sleep(0.6)
    assert not sink.named("notbefore")
    assert wait_for(lambda: sink.named("notbefore"), 10)


def test_deduplication_id_drops_the_repeat_within_the_window(world):
    sink, base, emulator, client, em_url = world
    a = client.message.publish_json(url=f"{base}/hook/dedup", body={"n": 1}, deduplication_id="same-key")
    b = client.message.publish_json(url=f"{base}/hook/dedup", body={"n": 2}, deduplication_id="same-key")
    assert b.deduplicated and b.message_id == a.message_id
    c = client.message.publish_json(url=f"{base}/hook/dedup", body={"n": 3}, content_based_deduplication=True)
    d = client.message.publish_json(url=f"{base}/hook/dedup", body={"n": 3}, content_based_deduplication=True)
    assert d.deduplicated and d.message_id == c.message_id
    assert wait_for(lambda: len(sink.named("dedup")) == 2)
    time.sleep(0.2)
    assert sorted(json.loads(x["body"])["n"] for x in sink.named("dedup")) == [1, 3]


def test_batch_publishes_each_message(world):
    sink, base, emulator, client, em_url = world
    out = client.message.batch_json([{"url": f"{base}/hook/batch", "body": {"i": i}} for i in range(3)])
    assert len({r.message_id for r in out}) == 3
    assert wait_for(lambda: len(sink.named("batch")) == 3)


def test_failures_are_retried_with_increasing_upstash_retried_then_dead_lettered(world):
    sink, base, emulator, client, em_url = world
    sink.script["flaky"] = [500, 503, 200]
    client.message.publish_json(url=f"{base}/hook/flaky", body={}, retries=3)
    assert wait_for(lambda: len(sink.named("flaky")) == 3)
    assert [c["headers"]["upstash-retried"] for c in sink.named("flaky")] == ["0", "1", "2"]

    sink.script["dead"] = [500]
    res = client.message.publish_json(url=f"{base}/hook/dead", body={}, retries=2)
    assert wait_for(lambda: res.message_id in emulator.state.dlq)
    assert len(sink.named("dead")) == 3  # first attempt + 2 retries

    sink.script["stop"] = [489]
    res = client.message.publish_json(url=f"{base}/hook/stop", body={}, retries=5)
    assert wait_for(lambda: res.message_id in emulator.state.dlq)
    assert len(sink.named("stop")) == 1


def test_schedules_are_created_or_overwritten_by_id_and_fire(world):
    sink, base, emulator, client, em_url = world
    sid = client.schedule.create_json(destination=f"{base}/hook/cron", cron="*/5 * * * *", body={"v": 1},
                                      schedule_id="screndly-test-tick")
    assert sid == "screndly-test-tick"
    again = client.schedule.create_json(destination=f"{base}/hook/cron", cron="0 3 * * *", body={"v": 2},
                                        schedule_id="screndly-test-tick")
    assert again == sid
    listed = [s for s in client.schedule.list() if s.schedule_id == sid]
    assert len(listed) == 1 and listed[0].cron == "0 3 * * *"
    # fire now instead of waiting for 03:00
    import httpx

    httpx.post(f"{em_url}/_emulator/schedules/{sid}/trigger")
    assert wait_for(lambda: sink.named("cron"))
    call = sink.named("cron")[0]
    assert call["headers"]["upstash-schedule-id"] == sid
    assert json.loads(call["body"]) == {"v": 2}
    client.schedule.delete(sid)
    assert not [s for s in client.schedule.list() if s.schedule_id == sid]


def test_wrong_token_is_refused(world):
    sink, base, emulator, client, em_url = world
    bad = QStash("wrong", base_url=em_url, retry=False)
    with pytest.raises(Exception):
        bad.message.publish_json(url=f"{base}/hook/x", body={})

