"""A private Postgres cluster that logs every statement with a millisecond timestamp and the application name,
for the day simulation's independent count of database-awake time. Never the machine's shared server: it is
initdb'd in a temporary folder on a free port and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOG_PREFIX = "%m|%a|"


@dataclass
class PrivatePostgres:
    url: str
    log_path: Path
    stop: Callable[[], None]


def _bin_dir() -> str:
    found = shutil.which("initdb")
    if found:
        return str(Path(os.path.realpath(found)).parent)
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    import pgserver  # the embedded Postgres the local stack falls back to ships the same binaries

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin")


def start() -> PrivatePostgres:
    """In a folder of its own (the server's user must be able to reach it), removed by `stop`."""
    import tempfile

    from shared.local.services import free_port, wait_for_port

    bindir = _bin_dir()
    tmp = Path(tempfile.mkdtemp(prefix="screndly-pg-"))
    data, log = tmp / "pgdata", tmp / "pg.log"
    data.mkdir(parents=True, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(tmp, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run([*as_user, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                    "-E", "UTF8"], check=True, capture_output=True)
    port = free_port()
    opts = (f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            f"-c full_page_writes=off -c log_statement=all -c log_line_prefix='{LOG_PREFIX}' "
            "-c log_timezone=UTC -c log_min_messages=warning -c max_connections=60")
    subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-l", str(log), "-w", "-o", opts, "start"],
                   check=True, capture_output=True)
    wait_for_port("127.0.0.1", port)

    def stop() -> None:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    return PrivatePostgres(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", log_path=log, stop=stop)
