"""A claim on one publication, held as a lease (field-notes §1.1: Postiz heartbeats its publishing activity
every 15 s; §3.1 Procrastinate's stalled-job heartbeats).

The holder's heartbeat thread pushes `lease_until` forward while it uploads or polls, so a live worker is never
taken over; a worker that died (kill -9, a function cut off) stops beating and its lease runs out. Before each
platform request the holder checks that its lease will outlast the request; if it cannot extend it, or the
claim was taken over, it raises ClaimLost and sends nothing more. A checker's lease (a take-over or a re-check)
allows look-ups only: `confirm` requests.

Timing only decides when a take-over may happen. Safety does not depend on it: every state write is fenced by
the token, and a checker declares "nothing was posted" only from the platform's own final state or from our
fenced record that the publishing request was never sent.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

from shared.publishing.adapters.http import PlatformHttp
from shared.publishing.engine import publications as pubs
from shared.publishing.engine.errors import ClaimLost

logger = logging.getLogger("screndly.publishing.lease")

Role = Literal["sender", "checker"]


class LookupOnly(ClaimLost):
    """A checker tried to send something other than a look-up: refused before it leaves the process."""


class Lease:
    def __init__(self, pub_id: str, token: str, *, seconds: float, role: Role, started: float,
                 send_margin: float):
        self.pub_id = pub_id
        self.token = token
        self.seconds = float(seconds)
        self.role = role
        # measured before the claim's UPDATE was sent, so our idea of the expiry is never later than the row's
        self._deadline = started + self.seconds
        self._margin = min(float(send_margin), self.seconds / 2)
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- heartbeat ----------------------------------------------------------------------------------
    @property
    def interval(self) -> float:
        return max(0.05, self.seconds / 5)

    def __enter__(self) -> Lease:
        self._thread = threading.Thread(target=self._beat_loop, name=f"lease-{self.pub_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.lost:
                return
            self.beat()

    def beat(self) -> bool:
        t0 = time.monotonic()
        try:
            ok = pubs.heartbeat(self.pub_id, self.token, self.seconds)
        except Exception as exc:  # the database hiccuped: the lease runs on; before_send decides in time
            logger.warning("heartbeat for %s failed: %s", self.pub_id, exc)
            return False
        self._extended(t0, ok)
        return ok

    def _extended(self, t0: float, ok: bool) -> None:
        if ok:
            self._deadline = max(self._deadline, t0 + self.seconds)
        else:
            self.lost = True

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    # --- the holder's writes and sends --------------------------------------------------------------
    def checkpoint(self, values: dict[str, Any]) -> int:
        t0 = time.monotonic()
        saved = pubs.checkpoint(self.pub_id, self.token, values, self.seconds)
        self._extended(t0, saved > 0)
        return saved

    def before_send(self, phase: str) -> None:
        """Called before every platform request. Raises ClaimLost instead of sending when the claim is gone,
        or when the lease could run out before the request ends and cannot be extended."""
        if self.role == "checker" and phase != "confirm":
            raise LookupOnly(f"a checker only looks posts up; refused a {phase} request")
        if self.lost:
            raise ClaimLost("the claim on this publication was taken over; not sending")
        if self.remaining() < self._margin:
            self.beat()
            if self.lost or self.remaining() < self._margin:
                self.lost = True
                raise ClaimLost("could not extend the lease on this publication; not sending")


class LeasedHttp(PlatformHttp):
    """PlatformHttp whose every request first asks the lease (the adapters see the same interface)."""

    def __init__(self, *args: Any, lease: Lease | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.lease = lease

    def send(self, method: str, url: str, *, phase, **kw: Any):
        if self.lease is not None:
            self.lease.before_send(phase)
        return super().send(method, url, phase=phase, **kw)
