"""The calls each Redis script makes, read from the server's MONITOR stream (Upstash bills every one of them,
not one per EVAL: https://upstash.com/docs/redis/overall/billing).

A script runs atomically, so its inner calls follow its EVAL line in the stream with nothing in between.
`ScriptCalls` opens MONITOR, lets the test run, then sends a marker and reads the stream up to it: no waiting
on time, and background commands (the live API's ticks) fall into their own scripts, told apart by their
arguments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class Script:
    line: str  # the EVAL's own MONITOR line (its source and arguments)
    calls: list[str] = field(default_factory=list)  # each inner call: its command name

    def count(self, name: str) -> int:
        return sum(1 for c in self.calls if c == name.upper())


class ScriptCalls:
    def __init__(self, redis_url: str):
        import redis

        self._url = redis_url
        self._client = redis.Redis.from_url(redis_url)
        self._monitor = None
        self.scripts: list[Script] = []

    def __enter__(self) -> ScriptCalls:
        self._monitor = self._client.monitor().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        marker = f"script-calls-end-{uuid.uuid4().hex}"
        import redis

        other = redis.Redis.from_url(self._url)
        try:
            other.echo(marker)
        finally:
            other.close()
        current: Script | None = None
        try:
            while True:
                cmd = self._monitor.next_command()
                line = cmd["command"]
                if marker in line:
                    break
                name = line.split(" ", 1)[0].strip('"').upper()
                if cmd.get("client_type") == "lua":
                    if current is not None:
                        current.calls.append(name)
                elif name in ("EVAL", "EVALSHA"):
                    current = Script(line)
                    self.scripts.append(current)
                else:
                    current = None
        finally:
            self._monitor.__exit__(*exc)
            self._client.close()

    def with_arg(self, text: str) -> list[Script]:
        """The scripts whose EVAL line holds `text` (a key, a token: something only the test's calls carry)."""
        return [s for s in self.scripts if text in s.line]

    def one(self, text: str) -> Script:
        found = self.with_arg(text)
        assert len(found) == 1, [s.line[:200] for s in found]
        return found[0]
