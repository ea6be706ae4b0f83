"""The local backing stack: Postgres, Redis behind the Upstash REST bridge, the QStash emulator, S3 (moto).

`start_backing()` starts what is missing and returns the environment variables that point every process
(API, scheduler, worker, tests) at it, the same variables production sets for the cloud services.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.local import services


@dataclass
class Backing:
    env: dict[str, str]
    bridge: services.ServerThread
    qstash: services.ServerThread
    redis_url: str
    stops: list[Callable[[], None]] = field(default_factory=list)

    @property
    def emulator(self):
        return self.qstash.server.config.app.state.emulator

    @property
    def redis_counter(self):
        return self.bridge.server.config.app.state.counter

    def stop(self) -> None:
        for fn in reversed(self.stops):
            try:
                fn()
            except Exception:
                pass


CLOUD_GROUPS = {
    "redis": ("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"),
    "qstash": ("QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"),
    "storage": ("B2_ENDPOINT_URL", "B2_KEY_ID", "B2_APPLICATION_KEY", "B2_BUCKET"),
}


def cloud_overrides(environ: dict[str, str]) -> dict[str, str]:
    """The cloud services fully configured in `environ`: their variables win over the local stand-ins."""
    out: dict[str, str] = {}
    for names in CLOUD_GROUPS.values():
        if all(environ.get(n) for n in names):
            out.update({n: environ[n] for n in names})
            if names[0] == "QSTASH_TOKEN" and environ.get("QSTASH_URL"):
                out["QSTASH_URL"] = environ["QSTASH_URL"]
    return out


def _key(n: int = 32) -> str:
    return secrets.token_urlsafe(n)


def start_backing(*, mode: str, data_dir: Path, public_base_url: str, api_port: int | None = None,
                  secrets_in: dict[str, str] | None = None) -> Backing:
    """Start every local stand-in. In dev mode, a cloud service configured in the environment is used
    instead of its stand-in (see `cloud_overrides`)."""
    from shared.local.qstash_emulator import create_emulator
    from shared.local.upstash_bridge import create_bridge

    data_dir.mkdir(parents=True, exist_ok=True)
    stops: list[Callable[[], None]] = []
    if mode == "test":
        pg = services.postgres_for_tests(data_dir)
        redis = services.redis_private(data_dir)
    else:
        pg = services.postgres_for_dev(data_dir)
        try:
            redis = services.redis_for_dev(data_dir)
        except Exception:
            pg.stop()  # e.g. every shared Redis database belongs to another stack: leave nothing running
            raise
    stops += [pg.stop, redis.stop]

    keys = dict(secrets_in or {})
    bridge_token = keys.setdefault("UPSTASH_REDIS_REST_TOKEN", _key())
    qstash_token = keys.setdefault("QSTASH_TOKEN", _key())
    current = keys.setdefault("QSTASH_CURRENT_SIGNING_KEY", "sig_" + _key())
    nxt = keys.setdefault("QSTASH_NEXT_SIGNING_KEY", "sig_" + _key())

    bridge = services.ServerThread(create_bridge(redis.url, bridge_token)).start()
    stops.append(bridge.stop)
    rewrite = None
    if api_port and not public_base_url.startswith(f"http://127.0.0.1:{api_port}"):
        rewrite = (public_base_url, f"http://127.0.0.1:{api_port}")
    # our own API is the one loopback destination the emulator delivers to (QStash itself cannot reach it);
    # retries keep QStash's documented curve on a clock compressed to seconds
    emulator = create_emulator(qstash_token, current, nxt, retry_base_seconds=1.0 if mode == "dev" else 0.2,
                               max_retry_seconds=60.0 if mode == "dev" else 1.0,
                               tick_seconds=0.05 if mode == "test" else 0.2, rewrite_base=rewrite,
                               local_targets=(public_base_url,) + ((f"http://127.0.0.1:{api_port}",)
                                                                   if api_port else ()))
    qstash = services.ServerThread(emulator.app).start()
    stops.append(qstash.stop)

    bucket = "screndly-local" if mode == "dev" else "screndly-test"
    s3 = services.moto_s3(bucket)
    stops.append(s3.stop)

    youtube_url = None
    if mode == "dev" and not os.environ.get("YOUTUBE_BASE_URL"):
        # channel pages and feeds offline (set YOUTUBE_BASE_URL=https://www.youtube.com for the real one)
        from shared.local import youtube

        yt_server, _ = youtube.start()
        stops.append(yt_server.stop)
        youtube_url = yt_server.url

    env = {
        "DATABASE_URL": pg.url,
        "UPSTASH_REDIS_REST_URL": bridge.url,
        "UPSTASH_REDIS_REST_TOKEN": bridge_token,
        # the media worker blocks on a TCP connection to the same Redis (Upstash offers both)
        "MEDIA_WORKER_REDIS_URL": redis.url,
        "QSTASH_URL": qstash.url,
        "QSTASH_TOKEN": qstash_token,
        "QSTASH_CURRENT_SIGNING_KEY": current,
        "QSTASH_NEXT_SIGNING_KEY": nxt,
        "B2_ENDPOINT_URL": s3.url,
        "B2_REGION": "us-east-1",
        "B2_KEY_ID": "local",
        "B2_APPLICATION_KEY": "local",
        "B2_BUCKET": bucket,
        "PUBLIC_BASE_URL": public_base_url,
        "ALLOW_PRIVATE_NETWORK_FETCH": "true",
    }
    if youtube_url:
        env["YOUTUBE_BASE_URL"] = youtube_url
    keys.setdefault("JWT_SECRET", _key(48))
    keys.setdefault("ENCRYPTION_KEYS", base64.b64encode(os.urandom(32)).decode())
    env.update({k: v for k, v in keys.items() if k not in env})
    return Backing(env=env, bridge=bridge, qstash=qstash, redis_url=redis.url, stops=stops)
