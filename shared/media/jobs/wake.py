"""The wake-up channel between the API and idle workers: a Redis list of tokens.

The API pushes one token per new job (one LPUSH, one billed command, whatever the number of jobs); an idle
worker blocks on BLPOP with a long timeout over a direct TCP connection, so it wakes within milliseconds of
an enqueue and, when nothing happens, costs one command per timeout (120 s -> 720 a day). Tokens only say
"look at the queue": Postgres stays the source of truth, so a lost token delays a job until the worker's
safety poll but never loses it.
"""

from __future__ import annotations

import logging
import time

WAKE_KEY = "media:jobs:wake"
# a few hundred stale tokens at most: each costs one cheap empty poll, and the list must not grow forever
MAX_TOKENS = 256

logger = logging.getLogger("screndly.media.wake")


def push_wake(count: int = 1) -> bool:
    """API side, through the Upstash REST client. Failure is logged, not raised: the job is already in
    Postgres and the worker's safety poll will find it."""
    if count <= 0:
        return True
    try:
        from shared.redis_client import get_redis

        get_redis().lpush(WAKE_KEY, *(["1"] * min(count, MAX_TOKENS)))
        return True
    except Exception as exc:  # Redis down must not fail the enqueue
        logger.warning("media wake-up push failed (%s); the worker's safety poll will pick the job up",
                       type(exc).__name__)
        return False


class Waiter:
    """Worker side. With a TCP URL it blocks on BLPOP; without one it sleeps (the safety poll then finds work,
    at the cost of a slower pickup) because the REST client cannot block."""

    def __init__(self, redis_url: str | None, max_wait: float = 120.0):
        self.redis_url = redis_url or ""
        self.max_wait = max_wait
        self._client = None
        self.commands = 0

    def _connect(self):
        if self._client is None and self.redis_url:
            import redis

            # socket timeout above the BLPOP timeout: otherwise redis-py gives up on a healthy blocked call
            self._client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=10,
                                                socket_timeout=self.max_wait + 15, socket_keepalive=True)
        return self._client

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True when a wake-up token arrived."""
        timeout = max(0.0, timeout)
        client = self._connect()
        if client is None:
            time.sleep(timeout)
            return False
        if timeout < 0.01:
            return False
        try:
            self.commands += 1
            _count_command()
            reply = client.blpop([WAKE_KEY], timeout=min(timeout, self.max_wait))
            return reply is not None
        except Exception as exc:
            logger.warning("media wake-up wait failed (%s); sleeping instead", type(exc).__name__)
            self.close()
            time.sleep(min(timeout, 5.0))
            return False

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None


def _count_command() -> None:
    """The worker's TCP client is redis-py, not the metered REST client: count its commands for the usage
    meter here (Upstash bills TCP and REST commands alike)."""
    from shared.usage import meter

    meter.count("redis.commands")


def push_wake_tcp(waiter: Waiter, count: int = 1) -> None:
    """Worker side (a job handed back on shutdown): wake another worker over the worker's own connection."""
    try:
        client = waiter._connect()
        if client is not None:
            client.lpush(WAKE_KEY, *(["1"] * count))
            waiter.commands += 1
            _count_command()
    except Exception as exc:
        logger.warning("media wake-up push failed (%s)", type(exc).__name__)
