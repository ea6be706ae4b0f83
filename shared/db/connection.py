"""Connections to Postgres (Neon in production) through psycopg 3.

Why a tiny pool with min_size=0 and a short max_idle: a warm serverless instance reuses its connection for
back-to-back requests, yet holds nothing once idle, so Neon can scale to zero. `prepare_threshold=None`
disables server-side prepared statements, which break behind a transaction pooler (Neon's pooled URL).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from shared.config import get_config

_lock = threading.Lock()
_pool: ConnectionPool | None = None
_pool_url: str | None = None


def _connect_kwargs() -> dict:
    return {"prepare_threshold": None, "autocommit": True, "row_factory": dict_row}


def get_pool() -> ConnectionPool:
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
                kwargs=_connect_kwargs(),
                open=True,
                timeout=10,
                check=ConnectionPool.check_connection,
            )
            _pool_url = url
        return _pool


def close_pool() -> None:
    global _pool, _pool_url
    with _lock:
        if _pool is not None:
            _pool.close()
        _pool = None
        _pool_url = None


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """An autocommit connection: each statement commits alone. Use `transaction()` for multi-step writes."""
    with get_pool().connection() as conn:
        yield conn


@contextmanager
def transaction() -> Iterator[psycopg.Connection]:
    with connection() as conn:
        with conn.transaction():
            yield conn


def direct_connect(url: str | None = None) -> psycopg.Connection:
    """A standalone connection outside the pool (migrations, the worker's long-lived session)."""
    return psycopg.connect(url or get_config().database_url, **_connect_kwargs())
