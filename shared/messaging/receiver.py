"""Verify QStash deliveries and run each message's effect at most once per message id.

`verify_qstash` is a FastAPI dependency: it checks `Upstash-Signature` against the current and next signing
keys and the exact public URL of the route (QStash signs the URL it was given, not our internal host).
`run_once` drops a redelivery of a message that already succeeded (QStash is at-least-once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from shared.config import get_config
from shared.errors import Conflict, Unauthorized

T = TypeVar("T")
logger = logging.getLogger("screndly.messaging")

_DONE_TTL = 3 * 24 * 3600  # QStash's own retry horizon is about a day; keep the marker past it
_RUNNING_TTL = 300
_SIGNATURE_TTL = 600  # longer than a signature lives (exp is 5 minutes after signing)


@dataclass(frozen=True)
class Delivery:
    message_id: str
    retried: int
    schedule_id: str | None
    body: bytes
    signature_id: str = ""  # the verified signature's `jti`: a replayed request carries the same one

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def verify_signature(signature: str | None, body: bytes, url: str) -> str:
    """Raise Unauthorized unless `signature` is QStash's for this body and URL; return its `jti`."""
    cfg = get_config()
    if not signature:
        raise Unauthorized("missing Upstash-Signature")
    if not cfg.qstash_current_signing_key:
        raise Unauthorized("QStash signing keys are not configured")
    from qstash import Receiver  # lazy: only QStash-called routes pay for the SDK import

    receiver = Receiver(
        current_signing_key=cfg.qstash_current_signing_key,
        next_signing_key=cfg.qstash_next_signing_key or cfg.qstash_current_signing_key,
    )
    try:
        receiver.verify(signature=signature, body=body.decode("utf-8", "replace"), url=url)
    except Exception as exc:
        raise Unauthorized("invalid QStash signature") from exc
    import jwt

    return str(jwt.decode(signature, options={"verify_signature": False}).get("jti") or "")


async def verify_qstash(request: Request) -> Delivery:
    body = await request.body()
    url = get_config().public_base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    jti = verify_signature(request.headers.get("upstash-signature"), body, url)
    retried = int(request.headers.get("upstash-retried", "0") or 0)
    count_delivery(retried, request.headers.get("upstash-schedule-id"))
    return Delivery(
        message_id=request.headers.get("upstash-message-id", ""),
        retried=int(request.headers.get("upstash-retried", "0") or 0),
        schedule_id=request.headers.get("upstash-schedule-id"),
        body=body,
        signature_id=jti,
    )


def count_delivery(retried: int, schedule_id: str | None) -> None:
    """QStash bills each message once when it is published, and again for every retry (field-notes §8: we
    assume retries are billed). Our publisher counts what it publishes; a schedule's firing and every retry
    are counted here, where they arrive."""
    if retried > 0 or schedule_id:
        from shared.usage import meter

        meter.count("qstash.messages")


def run_once(delivery: Delivery, effect: Callable[[], T]) -> T | dict:
    """Run `effect` unless this message id already succeeded. A concurrent duplicate gets 409 so QStash
    retries it later, by when the first one has either finished (dropped then) or failed (run again).

    The message id header is not covered by the signature, so the signature's own `jti` is remembered too: a
    captured request replayed within the signature's lifetime (with any message id) does nothing. QStash
    signs every delivery attempt anew, so its own retries are not affected."""
    if not delivery.message_id and not delivery.signature_id:
        return effect()
    from shared.redis_client import get_redis

    redis = get_redis()
    if _pending_done:
        _flush_pending_done(redis)
    key = f"qstash:msg:{delivery.message_id}"
    p = redis.pipeline()
    if delivery.signature_id:
        p.set(f"qstash:sig:{delivery.signature_id}", "1", nx=True, ex=_SIGNATURE_TTL)
    if delivery.message_id:
        p.set(key, "running", nx=True, ex=_RUNNING_TTL)
    results = p.exec()
    fresh_signature = results[0] if delivery.signature_id else True
    claimed = results[-1] if delivery.message_id else True
    if not fresh_signature:
        if delivery.message_id and claimed:
            redis.delete(key)
        return {"duplicate": True, "messageId": delivery.message_id, "replayed": True}
    if not delivery.message_id:
        return effect()
    if not claimed:
        if redis.get(key) == "done":
            return {"duplicate": True, "messageId": delivery.message_id}
        raise Conflict("this message is being processed by another delivery")
    try:
        result = effect()
    except BaseException:
        _best_effort(lambda: redis.delete(key))  # if Redis is down too, the claim expires after _RUNNING_TTL
        raise
    from shared.usage.flush import finish_marker

    # the "done" SET and this invocation's usage batch in one round trip (finish_marker puts the batch back in
    # the process when the write fails)
    if not _best_effort(lambda: finish_marker(redis, key, _DONE_TTL)):
        # The effect ran; answering an error now would make QStash deliver it again, and the claim would have
        # expired by then. Answer success, and write the marker on this instance's next delivery.
        _pending_done.add(key)
        logger.warning("run_once: %s ran but its done-marker could not be written (Redis down)", key)
    return result


# --- Redis outages -----------------------------------------------------------------------------------
# A claim that cannot be made raises (the route answers 503 + Retry-After, so QStash retries later and nothing
# ran). Once an effect has run, Redis failing can no longer make it run twice: see above.

_pending_done: set[str] = set()


def _best_effort(op: Callable[[], Any]) -> bool:
    from shared.redis_client import is_outage

    try:
        op()
        return True
    except Exception as exc:
        if not is_outage(exc):
            raise
        return False


def _flush_pending_done(redis) -> None:
    for key in list(_pending_done):
        redis.set(key, "done", ex=_DONE_TTL)
        _pending_done.discard(key)
