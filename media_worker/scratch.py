"""Local scratch space: one folder per worker process, one sub-folder per job, removed on every exit path.

At start-up, folders left by workers that are no longer alive (a crash, kill -9, OOM) are deleted. A folder
is named after its worker's pid; in a container the new worker may reuse the dead one's pid, so a folder
with our own pid that is not ours is stale too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Scratch:
    def __init__(self, root: str | None):
        self.root = Path(root or os.path.join(tempfile.gettempdir(), "screndly-media"))
        self.dir = self.root / f"w-{os.getpid()}-{secrets.token_hex(3)}"

    def prepare(self) -> list[str]:
        """Create our folder and delete stale ones; returns what was removed."""
        self.root.mkdir(parents=True, exist_ok=True)
        removed = []
        for entry in self.root.iterdir():
            if not entry.name.startswith("w-"):
                continue
            try:
                pid = int(entry.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if not _alive(pid) or pid == os.getpid():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        self.dir.mkdir(parents=True, exist_ok=True)
        return removed

    def job_dir(self, job_id: str) -> Path:
        path = self.dir / job_id
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.dir / job_id, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
