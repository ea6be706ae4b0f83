"""One guarded, bounded HTTP GET: the fetcher behind feeds, article pages, images and channel pages.

- connect and total timeouts (the total one bounds slow-drip servers that a read timeout alone would not);
- a body cap enforced while streaming (on decoded bytes, so a gzip bomb stops at the cap too);
- redirects followed by hand, at most 5, each target re-checked by the SSRF guard; a chain made only of
  permanent redirects (301/308) is reported so the caller can store the new URL;
- conditional GET (If-None-Match / If-Modified-Since) and "unchanged ETag/Last-Modified on a 200" treated as
  not modified (servers that ignore conditional headers), before the body is read;
- gzip/deflate/br decoding by httpx; an identifying User-Agent, and one retry with a browser User-Agent on 403.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin

import httpx

from shared.net.guard import BlockedURL, resolve_public

USER_AGENT = "Screndly/1.0 (+https://github.com/screndly; feed fetcher)"
BROWSER_USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0 Safari/537.36")
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
               "text/xml;q=0.9, text/html;q=0.5, */*;q=0.1")
MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

ErrorKind = Literal["blocked", "timeout", "too_large", "too_many_redirects", "http_status", "network"]


class FetchError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, status_code: int | None = None,
                 retry_after: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


@dataclass
class FetchResult:
    url: str  # final URL after redirects
    status_code: int
    not_modified: bool
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect_to: str | None = None  # set when every hop was 301/308
    truncated: bool = False  # only with allow_truncated: the cap was reached and reading stopped
    elapsed: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 20.0
    max_bytes: int = DEFAULT_MAX_BYTES


def _pool_options(limits: httpx.Limits) -> dict:
    return {"ssl_context": httpx.create_ssl_context(), "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry, "http1": True, "http2": False}


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a network backend that re-checks every address it connects to."""

    def __init__(self, limits: httpx.Limits, allow_private: bool):
        import httpcore

        from shared.net.guard import guarded_backend

        super().__init__(limits=limits)
        self._pool = httpcore.AsyncConnectionPool(**_pool_options(limits),
                                                  network_backend=guarded_backend(allow_private))


class GuardedSyncTransport(httpx.HTTPTransport):
    """`GuardedTransport` for synchronous clients."""

    def __init__(self, limits: httpx.Limits, allow_private: bool):
        import httpcore

        from shared.net.guard import guarded_sync_backend

        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(**_pool_options(limits),
                                             network_backend=guarded_sync_backend(allow_private))


def make_client(max_connections: int = 32, *, allow_private: bool | None = None) -> httpx.AsyncClient:
    """One client per invocation (a tick, a request): connection reuse across feeds on the same host."""
    allow = _allow_private() if allow_private is None else allow_private
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(10.0, connect=5.0),
        transport=GuardedTransport(limits, allow),
        headers={"Accept-Encoding": "gzip, deflate"},
    )


def _allow_private() -> bool:
    from shared.config import get_config

    return get_config().allow_private_network_fetch


async def fetch(client: httpx.AsyncClient, url: str, *, etag: str | None = None, last_modified: str | None = None,
                accept: str = FEED_ACCEPT, limits: FetchLimits = FetchLimits(), allow_truncated: bool = False,
                allow_private: bool | None = None) -> FetchResult:
    allow = _allow_private() if allow_private is None else allow_private
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.total_timeout):
            result = await _fetch(client, url, etag, last_modified, accept, limits, allow_truncated, allow,
                                  USER_AGENT)
            if result.status_code == 403:
                result = await _fetch(client, url, etag, last_modified, accept, limits, allow_truncated, allow,
                                      BROWSER_USER_AGENT)
    except TimeoutError as exc:
        raise FetchError("timeout", f"no complete answer within {limits.total_timeout:g} s") from exc
    result.elapsed = time.monotonic() - started
    if result.status_code >= 400:
        raise FetchError("http_status", _status_message(result.status_code), status_code=result.status_code,
                         retry_after=result.headers.get("retry-after"))
    return result


def _status_message(code: int) -> str:
    known = {401: "the server requires authentication (401)", 403: "access forbidden (403)",
             404: "not found (404)", 410: "gone (410): the feed was removed", 429: "rate limited by the server (429)"}
    if code in known:
        return known[code]
    return f"server error ({code})" if code >= 500 else f"unexpected HTTP status {code}"


async def _fetch(client: httpx.AsyncClient, url: str, etag: str | None, last_modified: str | None, accept: str,
                 limits: FetchLimits, allow_truncated: bool, allow_private: bool, user_agent: str) -> FetchResult:
    current = url
    all_permanent = True
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    for hop in range(MAX_REDIRECTS + 1):
        try:
            target = await resolve_public(current, allow_private)
        except BlockedURL as exc:
            raise FetchError("blocked", str(exc)) from exc
        headers = {"User-Agent": user_agent, "Accept": accept}
        # conditional headers only for the URL they were stored for (empty values would defeat a 304)
        if hop == 0 and etag:
            headers["If-None-Match"] = etag
        if hop == 0 and last_modified:
            headers["If-Modified-Since"] = last_modified
        req = client.build_request("GET", current, headers=headers, timeout=timeout)
        try:
            resp = await client.send(req, stream=True)
        except BlockedURL as exc:  # the connect-time check (DNS changed since the pre-check)
            raise FetchError("blocked", str(exc)) from exc
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"timed out talking to {target.host}") from exc
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, BlockedURL) or isinstance(exc.__context__, BlockedURL):
                raise FetchError("blocked", str(exc.__cause__ or exc.__context__)) from exc
            raise FetchError("network", f"network error reaching {target.host}: {type(exc).__name__}") from exc
        try:
            if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                all_permanent = all_permanent and resp.status_code in (301, 308)
                current = urljoin(current, resp.headers["location"])
                continue
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            result = FetchResult(
                url=current, status_code=resp.status_code, not_modified=False,
                content_type=hdrs.get("content-type", ""), etag=hdrs.get("etag"),
                last_modified=hdrs.get("last-modified"),
                permanent_redirect_to=current if (hop > 0 and all_permanent) else None, headers=hdrs,
            )
            if resp.status_code == 304:
                result.not_modified = True
                result.etag = result.etag or etag
                result.last_modified = result.last_modified or last_modified
                return result
            if resp.status_code >= 400:
                return result
            if hop == 0 and ((etag and result.etag == etag) or
                             (last_modified and not result.etag and result.last_modified == last_modified)):
                result.not_modified = True
                return result
            declared = hdrs.get("content-length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes and not allow_truncated \
                    and "content-encoding" not in hdrs:
                raise FetchError("too_large", f"response is {int(declared)} bytes, over the "
                                              f"{limits.max_bytes // (1024 * 1024) or limits.max_bytes} "
                                              f"{'MB' if limits.max_bytes >= 1 << 20 else 'byte'} cap")
            chunks: list[bytes] = []
            size = 0
            try:
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limits.max_bytes:
                        if allow_truncated:
                            result.truncated = True
                            break
                        raise FetchError("too_large", f"response exceeds the {limits.max_bytes} byte cap")
            except httpx.TimeoutException as exc:
                raise FetchError("timeout", f"timed out reading from {target.host}") from exc
            except httpx.DecodingError as exc:
                raise FetchError("network", f"could not decode the response body: {exc}") from exc
            except httpx.HTTPError as exc:
                raise FetchError("network", f"connection to {target.host} failed mid-body: "
                                            f"{type(exc).__name__}") from exc
            body = b"".join(chunks)
            result.body = body[:limits.max_bytes] if result.truncated else body
            return result
        finally:
            await resp.aclose()
    raise FetchError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects")
