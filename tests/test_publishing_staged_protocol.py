"""The staged-post protocol's decisions: which posts may be staged (pure), and every transition of the Redis
stage record (real Redis, Lua): one claimant at a time, re-claim only after the lease ran out and never once
`sending`, `sending` only for the live holder whose lease outlasts the HTTP timeout, outcomes fenced by the
claimant, owner cancels refused while it is being sent, and the write-back's freeze."""

from __future__ import annotations

import time
import uuid

import pytest
from publishing_mp.staged import _redis_now

from shared.publishing.adapters.base import Content
from shared.publishing.engine.errors import BadContent, OutcomeUnknown, RateLimitedError, TransientBeforeSend
from shared.publishing.staging import eligibility, record
from shared.publishing.staging.send import outcome_of_error

LIMITS = eligibility.Limits(grace_seconds=600, token_margin_seconds=900, media_url_ttl_seconds=7 * 86400)


@pytest.mark.parametrize("target,content,token_in,why", [
    ("x", {"text": "t"}, 86400, None),
    ("facebook", {"text": "t", "imageUrl": "https://i/1.jpg"}, None, None),  # a token without expiry
    ("pinterest", {"title": "p", "imageUrl": "https://i/1.jpg", "boardId": "b"}, 86400, None),
    ("instagram", {"text": "t", "imageUrl": "https://i/1.jpg"}, 86400, "container"),
    ("tiktok", {"videoUrl": "https://v/1.mp4"}, 86400, "container"),
    ("x", {"text": "t", "videoUrl": "https://v/1.mp4"}, 86400, "video"),
    ("threads", {"text": "t", "videoUrl": "https://v/1.mp4"}, 86400, "video"),
    ("pinterest", {"title": "p"}, 86400, "image"),
    ("x", {"text": "t"}, 3600 + 600 + 899, "token"),  # the slot in an hour: 1 s short of grace + margin
    ("x", {"text": "t"}, 3600 + 600 + 900, None),
])
def test_only_single_request_posts_whose_token_outlives_the_slot_are_staged(target, content, token_in, why):
    now = 1_000_000.0
    slot = now + 3600
    got = eligibility.why_not(target, content, dry_run=False, now=now, slot=slot,
                              token_expires_at=None if token_in is None else now + token_in, limits=LIMITS)
    assert (got is None) if why is None else (why in (got or ""))


def test_dry_runs_and_due_posts_stay_on_the_database_path():
    assert "dry" in eligibility.why_not("x", {"text": "t"}, dry_run=True, now=0, slot=100, token_expires_at=None,
                                        limits=LIMITS)
    assert "due" in eligibility.why_not("x", {"text": "t"}, dry_run=False, now=100, slot=100,
                                        token_expires_at=None, limits=LIMITS)


@pytest.mark.parametrize("exc,sent,kind,proof", [
    (BadContent("too long"), False, "failed", "not_sent"),
    (BadContent("duplicate", status=403), True, "failed", "refused"),  # the platform's answer to the commit
    (TransientBeforeSend("dns"), False, "release", None),
    (OutcomeUnknown("timeout"), True, "lookup", None),
    (RateLimitedError("429", reset_at=5.0), True, "release", None),  # refused: nothing carried out
    (RuntimeError("bug"), True, "lookup", None),
    (RuntimeError("bug"), False, "failed", "not_sent"),
])
def test_adapter_errors_become_the_engines_outcomes(exc, sent, kind, proof):
    if sent and isinstance(exc, BadContent):
        exc.phase = "commit"
    out = outcome_of_error(exc, sent)
    assert out["kind"] == kind
    assert out.get("proof") == proof


def test_an_error_after_the_commit_that_is_not_its_answer_is_settled_by_lookup():
    exc = BadContent("status check refused")
    exc.phase = "confirm"
    assert outcome_of_error(exc, True)["kind"] == "lookup"


# --- the Redis record (real Redis) ----------------------------------------------------------------------

def _stage(slot_in: float = 0.0, grace: float = 600.0) -> tuple[str, str]:
    pub_id, token = str(uuid.uuid4()), str(uuid.uuid4())
    slot = _redis_now() + slot_in
    assert record.create(pub_id, slot, {"token": token, "slot": repr(slot), "grace_until": repr(slot + grace),
                                        "family": "x", "progress": {}, "secret": "sealed"})
    return pub_id, token


def test_a_pending_stage_is_not_claimable_and_ready_needs_its_token(backing, clean_state):
    pub_id, token = _stage()
    assert record.claim(pub_id, "a", 60)[0] == "busy"
    assert not record.ready(pub_id, "another-token")
    assert record.ready(pub_id, token)
    assert record.create(pub_id, 0, {"token": "x"}) is False  # one stage per publication until written back


def test_the_scripts_keep_the_dispatchers_clock(backing, clean_state):
    """The slot is armed and comes due on shared.clock (shifted in the day simulation); the scripts judge it by
    the same clock, so the item that fires at the slot finds the stage claimable."""
    from shared import clock

    pub_id, token = _stage(slot_in=3600)
    record.ready(pub_id, token)
    assert record.claim(pub_id, "a", 60)[0] == "early"
    clock.set_offset(3600.0)
    try:
        verdict, until = record.claim(pub_id, "a", 60)
    finally:
        clock.set_offset(None)
    assert verdict == "ok" and float(until) > _redis_now() + 3600


def test_one_claimant_at_a_time_and_none_before_the_slot_or_after_the_grace(backing, clean_state):
    early, t1 = _stage(slot_in=30)
    record.ready(early, t1)
    assert record.claim(early, "a", 60)[0] == "early"
    late, t2 = _stage(slot_in=-20, grace=10)
    record.ready(late, t2)
    assert record.claim(late, "a", 60)[0] == "late"
    pub_id, token = _stage()
    record.ready(pub_id, token)
    assert record.claim(pub_id, "a", 60)[0] == "ok"
    assert record.claim(pub_id, "b", 60) == ("busy", "claimed")


def test_an_expired_claim_may_be_re_claimed_and_the_old_holder_can_no_longer_send(backing, clean_state):
    pub_id, token = _stage()
    record.ready(pub_id, token)
    assert record.claim(pub_id, "a", 0.05)[0] == "ok"
    time.sleep(0.1)
    assert record.claim(pub_id, "b", 60)[0] == "ok"
    assert not record.to_sending(pub_id, "a", 0, {"commit_sent": True})
    assert not record.save_progress(pub_id, "a", {"media_ids": ["1"]})
    assert record.extend(pub_id, "a", 60) is None
    assert not record.finish(pub_id, "a", {"kind": "published", "postId": "1"}, {})
    assert record.to_sending(pub_id, "b", 0, {"commit_sent": True})
    assert record.read(pub_id)["state"] == "sending"


def test_sending_needs_a_lease_that_outlasts_the_http_timeout(backing, clean_state):
    pub_id, token = _stage()
    record.ready(pub_id, token)
    record.claim(pub_id, "a", 5)
    assert not record.to_sending(pub_id, "a", 10, {"commit_sent": True})  # 5 s left, the request may take 10
    assert record.extend(pub_id, "a", 30) is not None
    assert record.to_sending(pub_id, "a", 10, {"commit_sent": True})


def test_once_sending_nobody_claims_or_cancels_it_even_after_its_lease(backing, clean_state):
    pub_id, token = _stage()
    record.ready(pub_id, token)
    record.claim(pub_id, "a", 0.2)
    assert record.to_sending(pub_id, "a", 0.05, {"commit_sent": True})
    time.sleep(0.3)
    assert record.claim(pub_id, "b", 60) == ("busy", "sending")
    assert record.cancel(pub_id) == "busy"
    state, rec = record.freeze(pub_id)  # the write-back: only a look-up may settle it now
    assert state == "settling" and rec["state"] == "settling"
    assert not record.finish(pub_id, "a", {"kind": "published", "postId": "9"}, {})
    assert record.decode(record.read(pub_id)["late"])["postId"] == "9"  # a late answer is kept as evidence


def test_the_outcome_is_fenced_and_listed_once(backing, clean_state):
    pub_id, token = _stage()
    record.ready(pub_id, token)
    record.claim(pub_id, "a", 60)
    record.to_sending(pub_id, "a", 1, {"commit_sent": True})
    assert record.finish(pub_id, "a", {"kind": "published", "postId": "1"}, {"commit_sent": True})
    assert "secret" not in record.read(pub_id)  # the sealed token goes as soon as it is not needed
    assert not record.finish(pub_id, "a", {"kind": "published", "postId": "1"}, {})
    assert record.candidates(_redis_now() - 3600) == [pub_id]  # listed by its outcome before its slot
    assert record.freeze(pub_id)[0] == "done"
    assert record.forget(pub_id, token)
    assert not record.exists(pub_id) and record.candidates(_redis_now() + 10) == []


def test_cancel_and_freeze_verdicts(backing, clean_state):
    ready, t1 = _stage(slot_in=30)
    record.ready(ready, t1)
    assert record.freeze(ready)[0] == "wait"  # before slot + grace: a sender may still take it
    assert record.cancel(ready) == "cancelled"
    assert record.claim(ready, "a", 60)[0] == "busy"
    assert record.freeze(ready)[0] == "cancelled"
    claimed, t2 = _stage()
    record.ready(claimed, t2)
    record.claim(claimed, "a", 60)
    assert record.cancel(claimed) == "busy" and record.freeze(claimed)[0] == "wait"
    record.extend(claimed, "a", 0.01)
    time.sleep(0.05)
    assert record.freeze(claimed)[0] == "expired"  # its holder never reached `sending`: nothing was sent
    assert not record.to_sending(claimed, "a", 0, {"commit_sent": True})
    lost, t3 = _stage(slot_in=-20, grace=10)
    record.ready(lost, t3)
    assert record.freeze(lost)[0] == "expired"
    assert record.freeze(str(uuid.uuid4()))[0] == "missing"


def test_the_resolved_content_survives_the_record():
    import json

    from shared.publishing.adapters.base import Content
    from shared.publishing.staging.stage import content_from_json, content_to_json

    c = Content(text="t", title="T", link="https://l", image_urls=("https://i/1.jpg", "https://i/2.jpg"),
                board_id="b1", tags=("a",), options={"tier": "free"})
    assert content_from_json(json.loads(json.dumps(content_to_json(c)))) == c


@pytest.mark.parametrize("target,content,text,kind", [
    ("x", Content(text="Dune trailer", link="https://t.co/d"), "Dune trailer\nhttps://t.co/d", None),
    ("threads", Content(text="Dune", image_urls=("https://i/1.jpg",)), "Dune", None),
    ("facebook", Content(text="Dune", image_urls=("https://i/1.jpg",), link="https://l/d"), "Dune\nhttps://l/d",
     "photo"),
    ("facebook_feed", Content(text="Dune", link="https://l/d"), "Dune", "feed"),
    ("pinterest", Content(text="t", title="Dune", image_urls=("https://i/1.jpg",)), "Dune", None),
    ("pinterest", Content(text="t", description="About Dune", image_urls=("https://i/1.jpg",)), "About Dune", None),
])
def test_the_lookup_hints_saved_at_the_stage_are_what_the_adapters_search_for(target, content, text, kind):
    """A lost record is looked up from these: the text key the adapter saves when it sends, and the slot's window
    (slot .. end of grace), which widens the look-up's time range."""
    from shared.publishing.adapters.base import text_key, window
    from shared.publishing.staging.lookup_hints import lookup_hints

    hints = lookup_hints(target, content, 1_000_000.0, 1_000_600.0)
    assert hints["text_key"] == text_key(text) and hints.get("kind") == kind
    assert window(hints) == (1_000_000.0 - 120, 1_000_600.0 + 900)
