"""Every transition of a stage record reads the fields it decides on with one HMGET, not an HGET per field
(Upstash bills every call a script makes), a claim counts itself in the HSET it makes anyway, and the
write-back's freeze reads the record once and writes only what changes. The
transitions' verdicts are proven in tests/test_publishing_staged_protocol.py; here, what they cost, counted on
the real Redis's MONITOR stream."""

import uuid

from redis_script_calls import ScriptCalls

from shared import clock
from shared.publishing.staging import record


def _stage(slot_in: float = 0.0, grace: float = 600.0) -> tuple[str, str]:
    pub_id, token = str(uuid.uuid4()), str(uuid.uuid4())
    slot = clock.time() + slot_in
    assert record.create(pub_id, slot, {"token": token, "slot": repr(slot), "grace_until": repr(slot + grace),
                                        "family": "x", "progress": {}, "secret": "sealed"})
    return pub_id, token


def test_each_transition_reads_the_record_once(backing, clean_state):
    with ScriptCalls(backing.redis_url) as calls:
        sent, token = _stage()
        assert record.ready(sent, token)
        assert record.claim(sent, "a", 60)[0] == "ok"
        assert record.extend(sent, "a", 60) is not None
        assert record.save_progress(sent, "a", {"media_ids": ["1"]})
        assert record.to_sending(sent, "a", 1, {"commit_sent": True})
        assert record.finish(sent, "a", {"kind": "published", "postId": "1"}, {"commit_sent": True})
        assert record.freeze(sent)[0] == "done"
        assert record.forget(sent, token)
        dropped, t2 = _stage()
        assert record.drop_pending(dropped, t2)
        cancelled, _ = _stage(slot_in=30)
        assert record.freeze(cancelled)[0] == "wait"
        assert record.cancel(cancelled) == "cancelled"
    scripts = calls.with_arg(sent) + calls.with_arg(dropped) + calls.with_arg(cancelled)
    assert len(scripts) == 14
    for s in scripts:
        assert s.count("HGET") + s.count("HMGET") <= 1, s.calls
    claim = [s for s in calls.with_arg(sent) if "'claims'" in s.line]
    assert [s.calls for s in claim] == [["HMGET", "HSET"]]
    freezes = [s.calls for s in calls.with_arg(sent) + calls.with_arg(cancelled) if "HGETALL" in s.line]
    assert freezes == [["HGETALL"], ["HGETALL"]]  # done (final already) and wait: the read alone


def test_a_frozen_record_comes_back_as_written_without_its_secret(backing, clean_state):
    pub_id, token = _stage(slot_in=-20, grace=10)
    record.ready(pub_id, token)
    state, rec = record.freeze(pub_id)
    assert state == "expired" and rec == record.read(pub_id) and rec["state"] == "expired"
    assert "secret" not in rec and rec["token"] == token


def test_a_claim_counts_itself(backing, clean_state):
    pub_id, token = _stage()
    record.ready(pub_id, token)
    assert record.claim(pub_id, "a", -1)[0] == "ok"  # a lease that has already run out: another may take over
    assert record.claim(pub_id, "b", 60)[0] == "ok"
    assert record.read(pub_id)["claims"] == "2"
