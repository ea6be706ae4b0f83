"""Platform HTTP calls with classification and safe retries.

Retries (tenacity, exponential backoff) only where repeating cannot post twice: a connection that never
opened (any phase), or a 5xx / lost answer on a `prepare` or `confirm` request. A `commit` request whose
answer is lost is never repeated: it becomes OutcomeUnknown.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from shared.publishing.engine.errors import (
    Phase,
    PublishError,
    RateLimitedError,
    StillProcessing,
    TransientBeforeSend,
    classify_exception,
    classify_http,
)

_lock = threading.Lock()
_client: httpx.Client | None = None
_client_timeout: float | None = None


def quiet_transport_logs() -> None:
    """httpx logs every request line ("HTTP Request: GET <url>") at INFO, and some platform calls must carry
    secrets or tokens in the query string (Threads' token exchange and refresh): keep those lines out of logs."""
    import logging

    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def shared_client(timeout: float) -> httpx.Client:
    """One pooled client per process (keep-alive across a run's many requests)."""
    global _client, _client_timeout
    quiet_transport_logs()
    with _lock:
        if _client is None or _client_timeout != timeout:
            _client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                                   follow_redirects=False, headers={"User-Agent": "Screndly/1.0"})
            _client_timeout = timeout
        return _client


def body_of(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return {"message": resp.text[:500]} if resp.text else {}


class PlatformHttp:
    def __init__(self, client: httpx.Client, *, token: str | None = None, retry_base: float = 1.0,
                 attempts: int = 3, auth_scheme: str = "Bearer", on_exhausted=None):
        self.client = client
        # called with the reset time when a successful answer says no calls are left (x-rate-limit-remaining: 0)
        self.on_exhausted = on_exhausted
        self.token = token
        self.retry_base = retry_base
        self.attempts = attempts
        self.auth_scheme = auth_scheme

    def _headers(self, headers: dict[str, str] | None, auth: bool) -> dict[str, str]:
        h = dict(headers or {})
        if auth and self.token and "Authorization" not in h:
            h["Authorization"] = f"{self.auth_scheme} {self.token}"
        return h

    def send(self, method: str, url: str, *, phase: Phase, auth: bool = True, ok_statuses: tuple[int, ...] = (),
             attempts: int | None = None, **kw: Any) -> httpx.Response:
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        headers = self._headers(kw.pop("headers", None), auth)

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, TransientBeforeSend) and (phase != "commit" or getattr(exc, "never_sent", False))

        def once() -> httpx.Response:
            try:
                resp = self.client.request(method, url, headers=headers, **kw)
            except httpx.HTTPError as exc:
                err = classify_exception(exc, phase)
                err.never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                err.phase = phase
                raise err from exc
            self._watch_quota(resp)
            if resp.status_code in ok_statuses:
                return resp
            refused = classify_http(resp.status_code, resp.headers, body_of(resp), phase)
            if refused is not None:
                refused.never_sent = False
                refused.phase = phase
                raise refused
            return resp

        retrying = Retrying(retry=retry_if_exception(retryable), stop=stop_after_attempt(attempts or self.attempts),
                            wait=wait_exponential(multiplier=self.retry_base, max=30 * self.retry_base),
                            reraise=True)
        try:
            return retrying(once)
        except (TransientBeforeSend, RateLimitedError) as exc:
            if phase != "confirm":
                raise
            # after the post was sent, a status check that cannot run now is not a failure: check later
            err = StillProcessing(f"status check deferred: {exc.message}")
            err.phase = phase
            raise err from exc

    def _watch_quota(self, resp: httpx.Response) -> None:
        """Mixpost's "about to be exceeded": remember the reset before the platform starts answering 429."""
        if self.on_exhausted is None or resp.status_code >= 400:
            return
        left = resp.headers.get("x-rate-limit-remaining") or resp.headers.get("x-ratelimit-remaining")
        if left is not None and left.strip() == "0":
            from shared.publishing.engine.errors import rate_limit_reset

            self.on_exhausted(rate_limit_reset(resp.headers))

    def json(self, method: str, url: str, *, phase: Phase, **kw: Any) -> Any:
        return body_of(self.send(method, url, phase=phase, **kw))


__all__ = ["PlatformHttp", "PublishError", "body_of", "shared_client"]
