"""Private Postgres and Redis servers that can be stopped and started again: outage tests and `make bench`.

Never the machine's shared servers (5432, 6379): other processes use those. Postgres is a throw-away `initdb`
cluster on a free port (the system's PostgreSQL binaries, else the ones pgserver ships), Redis a
`redis-server` with an append-only file (data survives the restart, as it does on Upstash) behind its own
Upstash REST bridge. Both come back on the same port, so clients reconnect exactly as after a real outage.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from shared.local import services


def _pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.insert(0, on_path)
    if not candidates:
        import pgserver

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "initdb"))
    return Path(candidates[0]).resolve().parent


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class RestartablePostgres:
    def __init__(self):
        # its own directory straight under the system temp dir: the postgres user must be able to reach it
        self.dir = Path(tempfile.mkdtemp(prefix="screndly-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = services.free_port()
        self.bin = _pg_bin()
        subprocess.run(_as_postgres([str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust",
                                     "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l",
                                     str(self.dir / "log"), "-w", "-o", opts, "start"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w",
                                     "stop"]), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RestartableRedis:
    """redis-server + an Upstash REST bridge in front of it (the bridge stays up; Redis behind it goes away)."""

    def __init__(self, tmp: Path, token: str = "outage-test-token"):
        from shared.local.upstash_bridge import create_bridge

        self.dir = tmp / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = services.free_port()
        self.proc: subprocess.Popen | None = None
        self.start()
        self.token = token
        self.bridge = services.ServerThread(create_bridge(self.url, token)).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        services.wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis flushes the append-only file and exits
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        self.bridge.stop()
