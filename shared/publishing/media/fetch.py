"""Reading media URLs that a user or a feed chose (imageUrls, videoUrl, thumbnails) behind the SSRF guard.

Every hop is checked before it is requested (shared/net/guard.py) and redirects are followed by hand, so a
public URL cannot bounce us to 127.0.0.1 or the cloud metadata address; the connection itself goes through the
guarded network backend, which re-resolves and re-checks at connect time (DNS rebinding). The only exemption is
our own bucket on the configured B2 endpoint (presigned URLs `pullable()` made): that host is the operator's
choice, not the user's, and in development it is moto on 127.0.0.1. Bodies are always streamed; callers cap
what they read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin

import httpx

from shared.net.guard import BlockedURL, resolve_public_sync, split_url

MAX_REDIRECTS = 5
_lock = threading.Lock()
_clients: dict[tuple[float, bool], httpx.Client] = {}


class MediaRefused(Exception):
    """The URL may not be fetched (internal address, bad scheme, too many redirects)."""


def _guarded_client(timeout: float, allow_private: bool) -> httpx.Client:
    from shared.net.fetch import GuardedSyncTransport
    from shared.publishing.adapters.http import quiet_transport_logs

    quiet_transport_logs()  # presigned URLs carry signatures in their query strings
    with _lock:
        key = (timeout, allow_private)
        if key not in _clients:
            limits = httpx.Limits(max_connections=16, max_keepalive_connections=8)
            _clients[key] = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)), follow_redirects=False,
                transport=GuardedSyncTransport(limits, allow_private), headers={"User-Agent": "Screndly/1.0"})
        return _clients[key]


def own_storage(url: str) -> bool:
    """An http(s) URL of an object in our own bucket (presigned GET or public base URL)."""
    from shared.publishing.media.urls import bucket_key

    return url.startswith(("http://", "https://")) and bucket_key(url) is not None


def check_url(url: str, allow_private: bool) -> None:
    """Raise BlockedURL unless `url` may be fetched. With private networks allowed (tests, `make dev`) only
    the scheme and credentials are checked, so fake hosts that no DNS knows still work."""
    split_url(url)
    if not allow_private:
        resolve_public_sync(url, False)


def _blocked_cause(exc: BaseException) -> BlockedURL | None:
    for e in (exc, exc.__cause__, exc.__context__):
        if isinstance(e, BlockedURL):
            return e
    return None


class MediaFetcher:
    def __init__(self, timeout: float | None = None, allow_private: bool | None = None):
        from shared.config import get_config

        cfg = get_config()
        self.timeout = cfg.publish_http_timeout_seconds if timeout is None else timeout
        self.allow_private = cfg.allow_private_network_fetch if allow_private is None else allow_private

    def _client_for(self, url: str) -> httpx.Client:
        if own_storage(url):
            from shared.publishing.adapters.http import shared_client

            return shared_client(self.timeout)
        try:
            check_url(url, self.allow_private)
        except BlockedURL as exc:
            raise MediaRefused(f"media URL refused: {exc}") from exc
        return _guarded_client(self.timeout, self.allow_private)

    @contextmanager
    def stream(self, url: str, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
        """The final response (after redirects, each hop checked), body unread. Raises MediaRefused, or
        httpx.HTTPError for network trouble."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            client = self._client_for(current)
            try:
                resp = client.send(client.build_request("GET", current, headers=headers), stream=True)
            except BlockedURL as exc:  # the connect-time check (DNS changed since the pre-check)
                raise MediaRefused(f"media URL refused: {exc}") from exc
            except httpx.HTTPError as exc:
                blocked = _blocked_cause(exc)
                if blocked is not None:
                    raise MediaRefused(f"media URL refused: {blocked}") from exc
                raise
            try:
                if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                    current = urljoin(current, resp.headers["location"])
                    continue
                yield resp
                return
            finally:
                resp.close()
        raise MediaRefused(f"media URL redirects more than {MAX_REDIRECTS} times: {url[:200]}")


def read_capped(resp: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed body (a server that ignores Range never makes us buffer more)."""
    out = bytearray()
    for piece in resp.iter_bytes():
        out.extend(piece)
        if len(out) >= limit:
            break
    return bytes(out[:limit])


def count_capped(resp: httpx.Response, limit: int) -> int | None:
    """The body's length by reading it through without keeping it; None past `limit`."""
    n = 0
    for piece in resp.iter_bytes():
        n += len(piece)
        if n > limit:
            return None
    return n
