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
    from shared.redis_client import get_redis

    req = req or requirement()
    if not req.command:
        return True, ""
    try:
        reply = get_redis().execute(req.args(get_config().publish_stage_durability_timeout_ms))
    except Exception as exc:  # unknown command, no append-only file, Redis away: not confirmed
        return False, f"{req.describe()} failed: {exc}"
    if req.met(reply):
        return True, ""
    return False, f"{req.describe()} answered {reply!r}: the checkpoint is not confirmed durable"
