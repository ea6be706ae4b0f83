"""`make dev`: the whole stack on one machine, with nothing but Python installed.

Starts (or finds) Postgres and Redis, the Upstash REST bridge, the QStash emulator (which is also the local
schedule runner: it fires the same cron schedules QStash fires in production), moto's S3 server, applies the
migrations, registers the schedules, starts the media worker as a child process, and serves the API on
http://localhost:$PORT (default 3000, the frontend's dev default). Ctrl-C stops everything.

A cloud service configured in the environment (DATABASE_URL, UPSTASH_REDIS_REST_URL/TOKEN, QSTASH_*, B2_*) is
used instead of its local stand-in. Local data (database, Redis file when embedded, generated secrets) lives in
LOCAL_DATA_DIR (default .local/, git-ignored). S3 objects live in moto's memory and are gone after a restart.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.local import services
from shared.local.stack import cloud_overrides, start_backing

_SECRET_NAMES = ("UPSTASH_REDIS_REST_TOKEN", "QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY",
                 "QSTASH_NEXT_SIGNING_KEY", "JWT_SECRET", "ENCRYPTION_KEYS")


def _load_or_create_secrets(data_dir: Path) -> dict[str, str]:
    """Generated once and kept, so tokens and encrypted settings survive a restart."""
    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if not stored:
        import base64

        stored = {
            "UPSTASH_REDIS_REST_TOKEN": secrets.token_urlsafe(32),
            "QSTASH_TOKEN": secrets.token_urlsafe(32),
            "QSTASH_CURRENT_SIGNING_KEY": "sig_" + secrets.token_urlsafe(32),
            "QSTASH_NEXT_SIGNING_KEY": "sig_" + secrets.token_urlsafe(32),
            "JWT_SECRET": secrets.token_urlsafe(48),
            "ENCRYPTION_KEYS": base64.b64encode(os.urandom(32)).decode(),
            "APP_PASSWORD": secrets.token_urlsafe(12),
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
        from shared.local.isolation import mark_new

        mark_new(data_dir)
    return stored


def effective_env(local: dict[str, str], environ: dict[str, str]) -> dict[str, str]:
    """The local stack's values, then every variable the user set in the environment: an explicit value always
    wins (ALLOW_PRIVATE_NETWORK_FETCH=false stays false). A cloud service's variables win only as a complete
    group (`cloud_overrides`): a URL without its token would fail on every call."""
    from shared.local.stack import CLOUD_GROUPS

    grouped = {name for names in CLOUD_GROUPS.values() for name in names}
    out = dict(local)
    out.update({k: v for k, v in environ.items() if k in local and k not in grouped})
    out.update(cloud_overrides(environ))
    return out


def _register_schedules() -> None:
    try:
        from shared.messaging import schedules
    except ImportError:
        return
    names = schedules.sync()
    print(f"[dev] schedules registered: {', '.join(names) if names else 'none'}")


def _start_worker(env: dict[str, str]) -> subprocess.Popen | None:
    try:
        import media_worker.__main__  # noqa: F401  (only checks that the worker exists)
    except ImportError:
        print("[dev] media worker not available; skipping")
        return None
    return subprocess.Popen([sys.executable, "-m", "media_worker"], env=env)


def _start_tmdb_fake(env: dict[str, str]):
    """Without a TMDb key the TMDb page still fills: a local TMDb held to TMDb's own definitions serves a catalogue
    around today (titles releasing today, this week, next month, and anniversaries). Returns its server or None."""
    if os.environ.get("TMDB_API_KEY"):
        return None
    from datetime import date

    from shared.local.tmdb_fake import FAKE_KEY, start

    _fake, server = start(date.today())
    env.update({"TMDB_API_KEY": FAKE_KEY, "TMDB_API_BASE": server.url, "TMDB_IMAGE_BASE": server.url + "/t/p"})
    return server


def main() -> int:
    root = Path.cwd()
    data_dir = (root / os.environ.get("LOCAL_DATA_DIR", ".local")).resolve()
    port = int(os.environ.get("PORT", "3000"))
    host = os.environ.get("HOST", "127.0.0.1")
    if services.port_open("127.0.0.1", port):
        print(f"[dev] port {port} is already in use; set PORT to another one", file=sys.stderr)
        return 1

    stored = _load_or_create_secrets(data_dir)
    password = os.environ.get("APP_PASSWORD") or stored["APP_PASSWORD"]
    public_base_url = os.environ.get("PUBLIC_BASE_URL", f"http://localhost:{port}")

    print(f"[dev] starting local services (data in {data_dir}) ...")
    from shared.local.isolation import StackConflict

    try:
        backing = start_backing(mode="dev", data_dir=data_dir, public_base_url=public_base_url, api_port=port,
                                secrets_in={k: stored[k] for k in _SECRET_NAMES})
    except StackConflict as exc:
        print(f"[dev] {exc}", file=sys.stderr)
        return 1
    worker = None
    try:
        from shared.security.passwords import hash_password

        env = dict(backing.env)
        env.setdefault("APP_ENV", "development")
        env["APP_PASSWORD_HASH"] = hash_password(password)
        env["PUBLISH_MODE"] = "dry_run"
        env["LOCAL_DATA_DIR"] = str(data_dir)
        env = effective_env(env, dict(os.environ))
        tmdb = _start_tmdb_fake(env)
        if tmdb is not None:
            backing.stops.append(tmdb.stop)
        os.environ.update(env)

        from shared.config import get_config

        get_config.cache_clear()
        get_config()  # fail fast on bad configuration

        from shared.db.migrate import apply_migrations

        applied = apply_migrations()
        print(f"[dev] migrations applied: {', '.join(applied) if applied else 'up to date'}")

        from shared.api.app import create_app

        api = services.ServerThread(create_app(), port=port, host=host).start()
        _register_schedules()
        worker = _start_worker(dict(os.environ))

        print("\n" + "=" * 68)
        print(f"  Screndly API   http://localhost:{port}   (docs: http://localhost:{port}/docs)")
        print(f"  Login password {password}" + ("" if os.environ.get("APP_PASSWORD") else
                                                 f"   (generated; stored in {data_dir / 'secrets.json'})"))
        print(f"  Publishing     {env['PUBLISH_MODE']}   |   QStash emulator {backing.qstash.url}")
        print(f"  YouTube        {os.environ.get('YOUTUBE_BASE_URL', 'https://www.youtube.com')}")
        print("  TMDb           " + (f"local fake at {tmdb.url} (no TMDB_API_KEY set; set it to use the real TMDb)"
                                     if tmdb is not None else "api.themoviedb.org (TMDB_API_KEY)"))
        print("  Ctrl-C stops everything.")
        print("=" * 68 + "\n", flush=True)

        stop = {"now": False}

        def _handle(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGINT, _handle)
        signal.signal(signal.SIGTERM, _handle)
        while not stop["now"]:
            if worker is not None and worker.poll() is not None:
                print(f"[dev] media worker exited with {worker.returncode}; restarting it")
                worker = _start_worker(dict(os.environ))
            time.sleep(0.5)
        print("\n[dev] stopping ...", flush=True)
        api.stop()
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        from shared.db import close_pool

        close_pool()
        backing.stop()
        print("[dev] stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
