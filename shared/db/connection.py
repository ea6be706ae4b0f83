"""Connections to Postgres (Neon in production) through psycopg 3.

Why a tiny pool with min_size=0 and a short max_idle: a warm serverless instance reuses its connection for
back-to-back requests, yet holds nothing once idle, so Neon can scale to zero. `prepare_threshold=None`
disables server-side prepared statements, which break behind a transaction pooler (Neon's pooled URL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config import get_config
from shared.db import outage

if TYPE_CHECKING:  # psycopg costs ~130 ms to import: the API pays it on the first query, not at cold import
    import psycopg
    from psycopg.rows import DictRow
    from psycopg_pool import ConnectionPool

    # every connection here returns rows as dicts (dict_row in _connect_kwargs)
    DictConnection = psycopg.Connection[DictRow]

_lock = threading.Lock()
_pool: ConnectionPool[DictConnection] | None = None
_pool_url: str | None = None


def import_driver() -> None:
    """Import psycopg and psycopg_pool: ~40 ms of CPU, the biggest part of a cold instance's first statement (a
    caller can do other work once it returns and before the connection is up: shared/api/auth.py)."""
    import psycopg.rows  # noqa: F401
    import psycopg_pool  # noqa: F401


def _connect_kwargs() -> dict:
    from psycopg.rows import dict_row

    return {"prepare_threshold": None, "autocommit": True, "row_factory": dict_row,
            "cursor_factory": metered_cursor()}


@lru_cache(maxsize=1)
def metered_cursor() -> type:
    """psycopg's cursor, counting every statement for the usage meter (pg.queries and Neon's awake time):
    every query of the API, the worker and the scripts goes through a cursor, so this is the one hook."""
    import psycopg

    from shared.usage import meter

    class MeteredCursor(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            meter.query_at()
            return super().execute(query, params, **kwargs)

        def executemany(self, query, params_seq, **kwargs):
            params_seq = list(params_seq)
            for _ in params_seq:
                meter.query_at()
            return super().executemany(query, params_seq, **kwargs)

    return MeteredCursor


def get_pool() -> ConnectionPool[DictConnection]:
    from psycopg_pool import ConnectionPool

    global _pool, _pool_url
    url = get_config().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    with _lock:
        if _pool is None or _pool_url != url:
            if _pool is not None:
                _pool.close()
            _pool = ConnectionPool(
                url,
                min_size=0,
                max_size=4,
                max_idle=60,
                kwargs={**_connect_kwargs(), "connect_timeout": 5},
                open=True,
                timeout=outage.POOL_TIMEOUT,
                check=_check_if_idle,
                configure=_stamp_returned,  # just connected: as fresh as one handed back a moment ago
                # no `reset` callback: with one, psycopg_pool hands every returned connection to a worker thread,
                # so a checkout right after a return (the session read, then the query, then the usage flush)
                # waited for that thread, and when it lost the race the pool opened a second connection
                # (`connection()` stamps the return time in the caller's thread instead)
            )
            _pool_url = url
        return _pool


# A connection handed back (or opened) less than this long ago is reused without a test query: back-to-back
# requests on a warm instance, and a cold instance's first request on the connection it just opened, save a round
# trip, while one that sat (or whose instance was frozen) is checked first.
_FRESH_SECONDS = 5.0


def _stamp_returned(conn) -> None:
    conn._screndly_returned_at = time.monotonic()


def _check_if_idle(conn) -> None:
    returned = getattr(conn, "_screndly_returned_at", None)
    if returned is not None and time.monotonic() - returned < _FRESH_SECONDS:
        return
    from psycopg_pool import ConnectionPool

    ConnectionPool.check_connection(conn)


def close_pool() -> None:
    global _pool, _pool_url
    outage.breaker.reset()  # a new pool (another DATABASE_URL) starts with a clean slate
    with _lock:
        if _pool is not None:
            _pool.close()
        _pool = None
        _pool_url = None


@contextmanager
def connection() -> Iterator[DictConnection]:
    """An autocommit connection: each statement commits alone. Use `transaction()` for multi-step writes.

    Outages surface as `outage.DatabaseUnavailable` (503), fast while the breaker is open (shared/db/outage.py)."""
    url = get_config().database_url
    outage.breaker.before_connect(url, _probe)
    try:
        with get_pool().connection() as conn:
            try:
                yield conn
            finally:
                _stamp_returned(conn)
    except Exception as exc:
        if not outage.is_outage(exc) or isinstance(exc, outage.DatabaseUnavailable):
            raise
        outage.breaker.trip(url)
        _discard_pool()
        raise outage.DatabaseUnavailable() from exc


def _probe() -> None:
    direct_connect(connect_timeout=outage.PROBE_CONNECT_TIMEOUT).close()


def _discard_pool() -> None:
    """Forget a pool that met an outage (its reconnect back-off only grows); close it off the request path."""
    global _pool, _pool_url
    with _lock:
        old, _pool, _pool_url = _pool, None, None
    if old is not None:
        threading.Thread(target=old.close, kwargs={"timeout": 1.0}, daemon=True).start()


@contextmanager
def transaction() -> Iterator[DictConnection]:
    with connection() as conn, conn.transaction():
        yield conn


def direct_connect(url: str | None = None, **kwargs) -> DictConnection:
    """A standalone connection outside the pool (migrations, the worker's long-lived session)."""
    import psycopg

    return psycopg.connect(url or get_config().database_url, **{**_connect_kwargs(), **kwargs})
