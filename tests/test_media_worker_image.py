"""Dockerfile.worker: python slim, a non-root user, only requirements-worker.txt, and those requirements are
enough for everything the worker imports. (No Docker engine runs here, so the image is checked by reading it and
by resolving the worker's imports against the packages the file installs.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile.worker").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_image_is_slim_non_root_and_installs_only_the_worker_requirements():
    ins = _instructions()
    assert re.fullmatch(r"python:3\.1[1-9]-slim", next(v for op, v in ins if op == "FROM"))
    users = [v for op, v in ins if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(v for op, v in ins if op == "RUN")
    assert [r.strip() for r in re.findall(r"pip install[^&;]*", runs)] == ["pip install -r requirements-worker.txt"]
    copied = {v.split()[0] for op, v in ins if op == "COPY"}
    assert copied == {"requirements-worker.txt", "shared/", "media_worker/"}
    assert next(v for op, v in ins if op == "CMD") == '["python", "-m", "media_worker"]'


def _requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[\[=<>!~ ;]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _closure(names: set[str]) -> set[str]:
    """The distributions pip would install for `names` (their requirements, recursively, markers ignored)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[\[=<>!~ ;(]", req, maxsplit=1)[0].lower().replace("_", "-"))
    return seen


def test_everything_the_worker_imports_comes_from_requirements_worker():
    code = (
        "import sys, json; before = set(sys.modules); "
        "import media_worker.main, media_worker.worker, media_worker.pipeline; "
        "import shared.media.ffmpeg.probe, shared.media.ffmpeg.presets, shared.storage.s3, shared.db; "
        "from importlib import metadata; dists = metadata.packages_distributions(); "
        "names = {d for m in set(sys.modules) - before for d in dists.get(m.split('.')[0], [])}; "
        "print(json.dumps(sorted(names)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    imported = {n.lower().replace("_", "-") for n in json.loads(out.stdout)}
    allowed = _closure(_requirement_names(ROOT / "requirements-worker.txt")) | {"screndly-backend"}
    assert imported, "the probe found no third-party imports at all"
    assert imported <= allowed, f"the worker imports packages the image does not install: {imported - allowed}"
