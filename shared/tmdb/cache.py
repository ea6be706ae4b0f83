"""TMDb responses cached in Redis by request (path + query, never the credential).

A batch of lookups is one MGET and a batch of stores one script call (SET ... EX per key), so a refresh that
reads 50 cached responses spends 1 Redis command, not 50. Values are zlib-compressed JSON: TMDb details with
credits run to tens of kilobytes, and Upstash bills bandwidth and storage as well as commands.
TTLs (config): metadata TMDB_METADATA_CACHE_SECONDS (15 min, as the seed architecture has it), image lists
TMDB_IMAGES_CACHE_SECONDS (a day). A Redis failure is a cache miss, never a failed refresh.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import zlib
from typing import Any
from urllib.parse import urlencode

log = logging.getLogger("screndly.tmdb.cache")

PREFIX = "tmdb:c:"
_STORE = """
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', tonumber(ARGV[1]))
end
return #KEYS
"""


def request_key(path: str, params: dict[str, Any] | None) -> str:
    q = urlencode(sorted((k, str(v)) for k, v in (params or {}).items() if k != "api_key"))
    return PREFIX + hashlib.sha1(f"{path}?{q}".encode(), usedforsecurity=False).hexdigest()


def encode(value: Any) -> str:
    return base64.b64encode(zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 6)).decode()


def decode(blob: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(blob)))


class ResponseCache:
    def __init__(self, redis_factory=None):
        self._redis_factory = redis_factory
        self.commands = 0

    def _redis(self):
        if self._redis_factory is not None:
            return self._redis_factory()
        from shared.redis_client import get_redis

        return get_redis()

    def get_many(self, keys: list[str]) -> list[Any | None]:
        if not keys:
            return []
        try:
            self.commands += 1
            blobs = self._redis().mget(*keys)
        except Exception as exc:
            log.warning("TMDb cache read failed (%s); treating as misses", type(exc).__name__)
            return [None] * len(keys)
        out = []
        for b in blobs or [None] * len(keys):
            try:
                out.append(decode(b) if b else None)
            except Exception:  # a damaged entry is a miss
                out.append(None)
        return out

    def put_many(self, items: dict[str, Any], ttl: int) -> None:
        if not items or ttl <= 0:
            return
        keys = list(items)
        try:
            self.commands += 1
            self._redis().eval(_STORE, keys=keys, args=[str(int(ttl)), *(encode(items[k]) for k in keys)])
        except Exception as exc:
            log.warning("TMDb cache write failed (%s)", type(exc).__name__)
