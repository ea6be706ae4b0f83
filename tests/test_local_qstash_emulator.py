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
from qstash.errors import QStashError, SignatureError

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
        self.answer_headers: dict[str, dict[str, str]] = {}
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
            headers.update(self.answer_headers.get(name, {}))
            return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

        self.app = app

    def named(self, name):
        return [c for c in self.calls if c["name"] == name]


@pytest.fixture(scope="module")
def world():
    sink = Sink()
    sink_server = services.ServerThread(sink.app).start()
    emulator = create_emulator(TOKEN, CURRENT, NEXT, retry_base_seconds=0.05, max_retry_seconds=0.5,
                               tick_seconds=0.02, local_targets=(sink_server.url,))
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
    sink, base, _emulator, client, _em_url = world
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
    with pytest.raises(SignatureError):
        receiver.verify(signature=h["upstash-signature"], body=call["body"].decode() + " ", url=url)
    with pytest.raises(SignatureError):
        receiver.verify(signature=h["upstash-signature"], body=call["body"].decode(), url=url + "?x=1")
    with pytest.raises(SignatureError):
        Receiver(current_signing_key="x" * 40, next_signing_key="y" * 40).verify(
            signature=h["upstash-signature"], body=call["body"].decode(), url=url)


def test_delay_holds_the_message_back(world):
    sink, base, _emulator, client, _em_url = world
    t0 = time.time()
    client.message.publish_json(url=f"{base}/hook/delayed", body={}, delay="1s")
    time.sleep(0.5)
    assert not sink.named("delayed")
    assert wait_for(lambda: sink.named("delayed"), 10)
    assert sink.named("delayed")[0]["at"] - t0 >= 0.95


def test_not_before_is_honoured(world):
    sink, base, _emulator, client, _em_url = world
    t0 = time.time()
    client.message.publish_json(url=f"{base}/hook/notbefore", body={}, not_before=int(t0) + 2)
    time.sleep(0.6)
    assert not sink.named("notbefore")
    assert wait_for(lambda: sink.named("notbefore"), 10)


def test_deduplication_id_drops_the_repeat_within_the_window(world):
    sink, base, _emulator, client, _em_url = world
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
    sink, base, _emulator, client, _em_url = world
    out = client.message.batch_json([{"url": f"{base}/hook/batch", "body": {"i": i}} for i in range(3)])
    assert len({r.message_id for r in out}) == 3
    assert wait_for(lambda: len(sink.named("batch")) == 3)


def test_failures_are_retried_with_increasing_upstash_retried_then_dead_lettered(world):
    sink, base, emulator, client, _em_url = world
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
    sink, base, _emulator, client, em_url = world
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
    _sink, base, _emulator, _client, em_url = world
    bad = QStash("wrong", base_url=em_url, retry=False)
    with pytest.raises(QStashError):
        bad.message.publish_json(url=f"{base}/hook/x", body={})



# --- fidelity with QStash's documented behaviour (upstash/docs @ ef0ce43), through the official client ---------
def test_message_get_returns_the_documented_fields_and_cancel_stops_delivery(world):
    """openapi.yaml `Message` / "Get a Message" / "Cancel a Message"; sdks/py/examples/messages.mdx."""
    sink, base, emulator, client, _em_url = world
    res = client.message.publish(url=f"{base}/hook/later", body=b"\xff\x00binary", delay="30s",
                                 headers={"X-Trace": "t1"}, retry_delay="1000 * (1 + retried)")
    msg = client.message.get(res.message_id)  # the SDK's own parser: it needs method, maxRetries, ...
    assert msg.message_id == res.message_id and msg.url == f"{base}/hook/later" and msg.method == "POST"
    assert msg.max_retries == 3  # the documented default when Upstash-Retries is absent
    assert msg.body is None and msg.body_base64  # not UTF-8: base64, as documented
    assert msg.not_before - msg.created_at >= 29_000 and msg.created_at > (time.time() - 60) * 1000
    assert msg.headers["X-Trace"] == ["t1"]
    assert msg.caller_ip and msg.retry_delay_expression == "1000 * (1 + retried)"

    client.message.cancel(res.message_id)
    with pytest.raises(QStashError) as err:
        client.message.get(res.message_id)
    assert "404" in str(err.value) or "not found" in str(err.value)
    emulator.state.messages[res.message_id].not_before = time.time()  # its time comes: it must stay cancelled
    time.sleep(0.3)
    assert not sink.named("later")

    a = client.message.publish_json(url=f"{base}/hook/bulk", body={"n": 1}, delay="30s")
    b = client.message.publish_json(url=f"{base}/hook/bulk", body={"n": 2}, delay="30s")
    c = client.message.publish_json(url=f"{base}/hook/bulk", body={"n": 3}, delay="30s")
    assert client.message.cancel_many([a.message_id, b.message_id]) == 2
    assert client.message.get(c.message_id).message_id == c.message_id
    assert client.message.cancel_all() >= 1
    with pytest.raises(QStashError):
        client.message.get(c.message_id)


def test_a_delivered_message_is_gone(world):
    sink, base, emulator, client, _em_url = world
    res = client.message.publish_json(url=f"{base}/hook/gone", body={})
    assert wait_for(lambda: sink.named("gone"))
    assert wait_for(lambda: emulator.state.messages[res.message_id].state == "delivered")
    with pytest.raises(QStashError):
        client.message.get(res.message_id)


def test_default_retries_are_three_then_dead_letter(world):
    sink, base, emulator, client, _em_url = world
    sink.script["always"] = [500]
    res = client.message.publish_json(url=f"{base}/hook/always", body={})  # no retries given
    assert wait_for(lambda: res.message_id in emulator.state.dlq, 20)
    assert [c["headers"]["upstash-retried"] for c in sink.named("always")] == ["0", "1", "2", "3"]


def test_retry_delay_expression_and_retry_after_are_honoured(world):
    """retry.mdx "Custom Retry Delay" (milliseconds, `retried` is 0 for the first retry) and "Retry-After
    Headers"."""
    from shared.local.qstash_emulator import default_backoff, parse_retry_after, retry_delay_ms

    assert retry_delay_ms("pow(2, retried) * 1000", 0) == 1000 and retry_delay_ms("pow(2, retried) * 1000", 3) == 8000
    assert retry_delay_ms("max(1000, pow(2, retried) * 100)", 2) == 1000
    with pytest.raises(ValueError):
        retry_delay_ms("__import__('os').system('true')", 0)
    assert round(default_backoff(1)) == 12 and round(default_backoff(2)) == 148 and default_backoff(9) == 86400
    assert parse_retry_after("10", 0) == 10 and parse_retry_after("6m5s", 0) == 365
    assert parse_retry_after("600ms", 0) == 0.6 and parse_retry_after("soon", 0) is None
    assert parse_retry_after("Sun, 27 Jun 2024 12:16:24 GMT", 1719490574.0) == 10

    sink, base, _emulator, client, _em_url = world
    sink.script["custom"] = [500, 500, 200]
    client.message.publish_json(url=f"{base}/hook/custom", body={}, retry_delay="250 * (1 + retried)")
    assert wait_for(lambda: len(sink.named("custom")) == 3, 20)
    at = [c["at"] for c in sink.named("custom")]
    # 250 ms then 500 ms, where the compressed default curve would wait 50 ms then 0.5 s
    assert at[1] - at[0] >= 0.24 and at[2] - at[1] >= 0.49
    with pytest.raises(QStashError):  # an expression QStash could not evaluate is refused at publish
        client.message.publish_json(url=f"{base}/hook/custom", body={}, retry_delay="retried ** import")

    sink.script["limited"] = [429, 200]
    sink.answer_headers["limited"] = {"Retry-After": "600ms"}  # the duration form retry.mdx allows
    client.message.publish_json(url=f"{base}/hook/limited", body={})
    assert wait_for(lambda: len(sink.named("limited")) == 2, 20)
    first, second = sink.named("limited")
    assert second["at"] - first["at"] >= 0.59  # not the 50 ms default


def test_loopback_destinations_are_refused_unless_local(world):
    sink, base, _emulator, client, _em_url = world
    for url in ("http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook",
                "http://0.0.0.0:9/hook"):
        with pytest.raises(QStashError) as err:
            client.message.publish_json(url=url, body={})
        assert "invalid destination url: endpoint resolves to a loopback address" in str(err.value), url
        with pytest.raises(QStashError):
            client.schedule.create(destination=url, cron="* * * * *")
    with pytest.raises(QStashError) as err:
        client.message.publish_json(url="ftp://example.com/x", body={})
    assert "invalid scheme" in str(err.value)
    # our own API, declared local, is delivered to
    client.message.publish_json(url=f"{base}/hook/local", body={})
    assert wait_for(lambda: sink.named("local"))
