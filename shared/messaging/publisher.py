"""Publish messages to our own endpoints through QStash.

Every message is billed (free tier: 1,000/day), so callers batch where they can and use a deduplication id
for anything that could be sent twice (QStash drops a repeat id within 10 minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.config import get_config


@dataclass(frozen=True)
class OutgoingMessage:
    path: str  # our route, e.g. "/api/internal/rss/tick"
    body: Any
    delay_seconds: int = 0
    deduplication_id: str | None = None
    retries: int = 3
    not_before: int | None = None  # unix seconds; overrides delay


def _client():
    cfg = get_config()
    if not cfg.qstash_token:
        raise RuntimeError("QSTASH_TOKEN is not set")
    return _cached_client(cfg.qstash_token, cfg.qstash_url)


@lru_cache(maxsize=2)
def _cached_client(token: str, url: str):
    from qstash import QStash  # imported here: the SDK costs ~150 ms and most requests never publish

    # building a client costs ~30 ms (its HTTP pool); a warm instance reuses it
    return QStash(token, base_url=url)


def destination(path: str) -> str:
    return get_config().public_base_url + path


def publish(msg: OutgoingMessage) -> str:
    res = _client().message.publish_json(
        url=destination(msg.path),
        body=msg.body,
        delay=f"{msg.delay_seconds}s" if msg.delay_seconds and msg.not_before is None else None,
        not_before=msg.not_before,
        deduplication_id=msg.deduplication_id,
        retries=msg.retries,
    )
    _meter([res])
    return res.message_id


def _meter(responses) -> None:
    """One billed message per accepted publish; a repeat QStash dropped by its deduplication id is not one."""
    from shared.usage import meter

    meter.count("qstash.messages", sum(1 for r in responses if not getattr(r, "deduplicated", False)))


def publish_batch(msgs: list[OutgoingMessage]) -> list[str]:
    if not msgs:
        return []
    from qstash.message import BatchJsonRequest  # noqa: F401  (typed dict, for readers)

    requests = []
    for m in msgs:
        req: dict[str, Any] = {"url": destination(m.path), "body": m.body, "retries": m.retries}
        if m.not_before is not None:
            req["not_before"] = m.not_before
        elif m.delay_seconds:
            req["delay"] = f"{m.delay_seconds}s"
        if m.deduplication_id:
            req["deduplication_id"] = m.deduplication_id
        requests.append(req)
    responses = _client().message.batch_json(requests)
    _meter(responses)
    return [r.message_id for r in responses]
