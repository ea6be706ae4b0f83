"""Postgres outages: a fast, honest 503 instead of a hung request, and recovery without a restart.

Without this, a request during an outage waits out the pool timeout, and its error handler waits it out again
trying to log the failure to the same dead database. Here:
- the first request that meets the outage pays at most the pool timeout (POOL_TIMEOUT) and opens a breaker;
- while the breaker is open (COOLDOWN_SECONDS) requests fail at once with `DatabaseUnavailable` (503,
  Retry-After), and the pool is discarded: psycopg_pool's reconnect back-off doubles without a cap (1, 2, 4,
  ... 32 s), so a pool that lived through an outage can sit out minutes after the database is back;
- after the cooldown one request probes with a direct connect (PROBE_CONNECT_TIMEOUT); success closes the
  breaker and a fresh pool connects at once, failure re-opens it.
Errors that are not about reaching the server (a constraint, a syntax error) never touch the breaker.
"""

from __future__ import annotations

import threading
import time

from shared.errors import ServiceUnavailable

POOL_TIMEOUT = 2.5  # seconds a request may wait for a pooled connection (the only wait an outage costs)
PROBE_CONNECT_TIMEOUT = 2  # libpq's minimum
COOLDOWN_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5

# server-side SQLSTATEs that mean "not reachable right now" (class 08 is matched by prefix)
_UNREACHABLE_STATES = {"57P01", "57P02", "57P03", "53300"}


class DatabaseUnavailable(ServiceUnavailable):
    def __init__(self, message: str = "The database is unreachable right now; try again shortly."):
        super().__init__(message, retry_after=RETRY_AFTER_SECONDS, details={"service": "database"})


def is_outage(exc: BaseException) -> bool:
    import psycopg

    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, psycopg.InterfaceError):  # the connection object is closed under us
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in _UNREACHABLE_STATES


class Breaker:
    """Process-local: each serverless instance learns about the outage from its own first failure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._probing = False
        self.tripped_for: str | None = None  # the database URL that failed (another URL starts clean)

    @property
    def tripped(self) -> bool:
        return self.tripped_for is not None

    def before_connect(self, url: str, probe) -> None:
        """Raise DatabaseUnavailable while open; after the cooldown let one caller run `probe()`."""
        if self.tripped_for != url:
            return
        with self._lock:
            if self.tripped_for != url:
                return
            if self._probing or time.monotonic() < self._open_until:
                raise DatabaseUnavailable()
            self._probing = True
        try:
            probe()
        except Exception as exc:
            self.trip(url)
            raise DatabaseUnavailable() from exc
        finally:
            self._probing = False
        with self._lock:
            self.tripped_for = None

    def trip(self, url: str) -> None:
        with self._lock:
            self.tripped_for = url
            self._open_until = time.monotonic() + COOLDOWN_SECONDS

    def reset(self) -> None:
        with self._lock:
            self.tripped_for = None
            self._open_until = 0.0


breaker = Breaker()
