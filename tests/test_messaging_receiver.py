"""Deliveries: signature checks bound to the exact URL, and at-most-once effects per QStash message id."""

from __future__ import annotations

import pytest

from shared.errors import Conflict, Unauthorized
from shared.local.qstash_emulator import sign
from shared.messaging.receiver import Delivery, run_once, verify_signature


def test_signature_from_current_or_next_key_is_accepted(backing):
    url = backing.env["PUBLIC_BASE_URL"] + "/api/internal/x"
    body = b'{"a":1}'
    verify_signature(sign(body, url, backing.env["QSTASH_CURRENT_SIGNING_KEY"]), body, url)
    verify_signature(sign(body, url, backing.env["QSTASH_NEXT_SIGNING_KEY"]), body, url)


@pytest.mark.parametrize("case", ["missing", "other_key", "other_url", "tampered", "expired"])
def test_bad_signatures_are_refused(backing, case):
    url = backing.env["PUBLIC_BASE_URL"] + "/api/internal/x"
    body = b'{"a":1}'
    key = backing.env["QSTASH_CURRENT_SIGNING_KEY"]
    sig = {
        "missing": None,
        "other_key": sign(body, url, "k" * 48),
        "other_url": sign(body, url + "?again=1", key),
        "tampered": sign(b'{"a":2}', url, key),
        "expired": sign(body, url, key, ttl=-60),
    }[case]
    with pytest.raises(Unauthorized):
        verify_signature(sig, body, url)


def test_effect_runs_once_per_message_id(backing, clean_state):
    calls = []
    d = Delivery(message_id="msg_once", retried=0, schedule_id=None, body=b"{}")
    assert run_once(d, lambda: calls.append(1) or "first") == "first"
    again = run_once(Delivery("msg_once", 1, None, b"{}"), lambda: calls.append(2) or "second")
    assert again == {"duplicate": True, "messageId": "msg_once"}
    assert calls == [1]


def test_failed_effect_can_run_again_and_concurrent_duplicate_gets_409(backing, clean_state, redis_raw):
    d = Delivery(message_id="msg_fail", retried=0, schedule_id=None, body=b"{}")

    def boom():
        raise RuntimeError("platform down")

    with pytest.raises(RuntimeError):
        run_once(d, boom)
    assert run_once(d, lambda: "ok") == "ok"

    redis_raw.set("qstash:msg:msg_busy", "running", ex=60)
    with pytest.raises(Conflict):
        run_once(Delivery("msg_busy", 0, None, b"{}"), lambda: "never")


def test_a_replayed_signature_with_a_new_message_id_does_nothing(backing, clean_state):
    calls = []
    first = Delivery("msg_real", 0, None, b"{}", signature_id="jwt_abc")
    assert run_once(first, lambda: calls.append(1) or "ran") == "ran"
    replay = Delivery("msg_forged", 0, None, b"{}", signature_id="jwt_abc")
    assert run_once(replay, lambda: calls.append(2) or "ran again")["replayed"] is True
    assert calls == [1]
    # QStash's own retry of a message signs anew: it is judged by its message id as before
    retry = Delivery("msg_other", 1, None, b"{}", signature_id="jwt_def")
    assert run_once(retry, lambda: calls.append(3) or "ok") == "ok"


def test_verify_signature_returns_the_jti(backing):
    import jwt as pyjwt

    url = backing.env["PUBLIC_BASE_URL"] + "/api/internal/x"
    sig = sign(b"{}", url, backing.env["QSTASH_CURRENT_SIGNING_KEY"])
    assert verify_signature(sig, b"{}", url) == pyjwt.decode(sig, options={"verify_signature": False})["jti"]
