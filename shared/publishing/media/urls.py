"""URLs handed to platforms that pull media themselves (Instagram, Threads, Facebook, TikTok PULL_FROM_URL,
Pinterest): an object of our B2 bucket gets a fresh presigned GET that outlives the platform's processing
(PUBLISH_MEDIA_URL_TTL_SECONDS, 7 days by default: IG/Threads containers live 24 h). Other URLs pass through."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from shared.config import get_config


def bucket_key(url: str) -> str | None:
    cfg = get_config()
    if not cfg.b2_bucket:
        return None
    if cfg.b2_public_base_url and url.startswith(cfg.b2_public_base_url.rstrip("/") + "/"):
        return unquote(url[len(cfg.b2_public_base_url.rstrip("/")) + 1:].split("?")[0])
    if url.startswith("b2://"):
        return url[5:]
    if not cfg.b2_endpoint_url:
        return None
    u, e = urlparse(url), urlparse(cfg.b2_endpoint_url)
    if u.netloc == e.netloc and u.path.startswith(f"/{cfg.b2_bucket}/"):
        return unquote(u.path[len(cfg.b2_bucket) + 2:])
    if u.netloc == f"{cfg.b2_bucket}.{e.netloc}":
        return unquote(u.path.lstrip("/"))
    return None


def pullable(url: str | None) -> str | None:
    if not url:
        return url
    key = bucket_key(url)
    if key is None:
        return url
    from shared.storage.s3 import get_storage

    ttl = min(get_config().publish_media_url_ttl_seconds, 7 * 24 * 3600)  # SigV4's ceiling
    return get_storage().presign_get(key, expires=ttl)
