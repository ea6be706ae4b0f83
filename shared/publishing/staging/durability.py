"""Make the `sending` checkpoint durable before a staged post's request goes out.

`claimed -> sending` is the only record that a staged post's publishing request may be out. If Redis
acknowledged it and then lost it (a failover to a replica that had not received it, a restart from an older
file), the record would read `claimed` with an expired lease and a second sender could claim and send it: a
post twice. So between `to_sending` and the request, the sender asks Redis to confirm that the checkpoint
survives such a loss, and sends only if it does:

- `waitaof:<local>:<replicas>`: `WAITAOF` (https://upstash.com/docs/redis/commands/generic/waitaof): the
  writes before it are in the append-only file here (`local` = 1) and on `replicas` replicas;
- `wait:<replicas>`: `WAIT` (https://upstash.com/docs/redis/commands/generic/wait): `replicas` replicas
  received them;
- `none`: nothing is asked. Only for a Redis that keeps nothing on disk and has no replica: whatever it loses,
  it loses whole, and a stage record that is gone is settled by the write-back's look-up, never re-sent.

Upstash documents both commands as waiting for every write enqueued before them, from any connection (its REST
API has no connections), so the checkpoint written by the script just before is covered. A reply below the
requirement, an error (a Redis without the command, or without an append-only file) or no reply in time means
"not confirmed": the sender releases the stage unsent and the database path publishes it (pure decisions here;
`confirm` is the one command).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("screndly.publishing.staging")


@dataclass(frozen=True)
class Requirement:
    command: str  # "WAITAOF", "WAIT" or "" (none)
    local: int = 0
    replicas: int = 0

    def args(self, timeout_ms: int) -> list[str]:
        if self.command == "WAITAOF":
            return ["WAITAOF", str(self.local), str(self.replicas), str(int(timeout_ms))]
        return ["WAIT", str(self.replicas), str(int(timeout_ms))]

    def met(self, reply: Any) -> bool:
        """Does Redis's reply confirm the requirement? (pure; anything unexpected is a no)"""
        try:
            if self.command == "WAITAOF":
                local, replicas = (int(v) for v in reply)
                return local >= self.local and replicas >= self.replicas
            return int(reply) >= self.replicas
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        if not self.command:
            return "none"
        if self.command == "WAITAOF":
            return f"WAITAOF {self.local} {self.replicas}"
        return f"WAIT {self.replicas}"


NONE = Requirement("")


def parse(text: str) -> Requirement:
    """`waitaof:<local>:<replicas>` | `wait:<replicas>` | `none` -> Requirement; ValueError names what is wrong."""
    parts = [p.strip() for p in str(text).strip().lower().split(":")]
    try:
        if parts == ["none"]:
            return NONE
        if parts[0] == "wait" and len(parts) == 2:
            replicas = int(parts[1])
            if replicas >= 1:
                return Requirement("WAIT", 0, replicas)
        if parts[0] == "waitaof" and len(parts) == 3:
            local, replicas = int(parts[1]), int(parts[2])
            if local in (0, 1) and replicas >= 0 and local + replicas >= 1:
                return Requirement("WAITAOF", local, replicas)
    except ValueError:
        pass
    raise ValueError(f"PUBLISH_STAGE_DURABILITY must be 'waitaof:<0|1>:<replicas>', 'wait:<replicas>' (at least "
                     f"one copy asked for) or 'none', not {text!r}")


def requirement() -> Requirement:
    from shared.config import get_config

    return parse(get_config().publish_stage_durability)


def confirm(req: Requirement | None = None) -> tuple[bool, str]:
    """Ask Redis to confirm every write so far (one command). -> (confirmed, why not)."""
    from shared.config import get_config

    try:
        req = req or requirement()
    except ValueError as exc:  # checked at startup; a setting changed under a running process is a no
        return False, str(exc)
    if not req.command:
        return True, ""
    timeout_ms = get_config().publish_stage_durability_timeout_ms
    try:
        reply = _ask(req.args(timeout_ms), timeout_ms / 1000.0)
    except Exception as exc:  # unknown command, no append-only file, Redis away: not confirmed
        return False, f"{req.describe()} failed: {exc}"
    if req.met(reply):
        return True, ""
    return False, f"{req.describe()} answered {reply!r}: the checkpoint is not confirmed durable"


def _ask(command: list[str], wait_seconds: float) -> Any:
    """One REST call (https://upstash.com/docs/redis/features/restapi: POST / with the command as a JSON
    array) with room for the wait itself: the shared client gives a call 1 s and retries once, which would cut a
    1 s WAIT short and bill it twice. No retry: a lost answer is a no."""
    import httpx

    from shared.config import get_config
    from shared.usage import meter

    cfg = get_config()
    meter.count("redis.commands", 1)
    resp = httpx.post(cfg.upstash_redis_rest_url, json=command, timeout=wait_seconds + 1.0,
                      headers={"Authorization": f"Bearer {cfg.upstash_redis_rest_token}"})
    body = resp.json()
    if "error" in body:
        raise RuntimeError(body["error"])
    return body.get("result")


_NO_UNTIL: dict[str, float] = {}  # setting -> until when its last "no" stands (monotonic clock)
NO_REMEMBERED_SECONDS = 600.0  # a Redis that could not confirm is asked again after this long, not per request


def can_confirm(now: float) -> tuple[bool, str]:
    """`confirm` for the staging step, whose "no" is remembered in the process for a while: a Redis that cannot
    confirm (no replica, no append-only file) would otherwise cost every scheduling request the full timeout."""
    from shared.config import get_config

    setting = get_config().publish_stage_durability
    if now < _NO_UNTIL.get(setting, 0.0):
        return False, "the last durability check said no"
    ok, why = confirm()
    if not ok:
        _NO_UNTIL[setting] = now + NO_REMEMBERED_SECONDS
    return ok, why
