"""Serper image search (https://serper.dev): POST /images with X-API-KEY, JSON {q, num, gl, hl}.

The answer lists `images[]` with imageUrl, imageWidth, imageHeight, title, source, domain, link, position.
The base URL comes from Config (a local fake in tests).
"""

from __future__ import annotations

from dataclasses import dataclass

# domains whose images are fan-made or re-uploads (frontend-contract §3.2 image scoring)
BLOCKED_DOMAINS = ("pinterest.", "tumblr.", "deviantart.", "fanart.tv", "wallpapercave.", "imgur.", "reddit.",
                   "wikia.", "fandom.")


class SerperError(Exception):
    pass


@dataclass(frozen=True)
class SerperImage:
    url: str
    width: int | None
    height: int | None
    title: str
    domain: str


async def search_images(client, api_key: str, query: str, *, num: int = 10) -> list[SerperImage]:
    import httpx

    from shared.config import get_config

    base = get_config().serper_base_url.rstrip("/")
    try:
        resp = await client.post(f"{base}/images", json={"q": query, "num": num, "gl": "us", "hl": "en"},
                                 headers={"X-API-KEY": api_key, "Content-Type": "application/json"},
                                 timeout=httpx.Timeout(10.0, connect=5.0))
    except httpx.HTTPError as exc:
        raise SerperError(f"Serper unreachable: {type(exc).__name__}") from exc
    from shared.usage import meter

    meter.count("serper.calls")  # a search that got an answer spends a credit (errors included)
    if resp.status_code in (401, 403):
        raise SerperError("Serper rejected the API key")
    if resp.status_code == 429:
        raise SerperError("Serper rate limit or credits exhausted")
    if resp.status_code >= 400:
        raise SerperError(f"Serper error {resp.status_code}")
    out = []
    for img in (resp.json().get("images") or []):
        url = img.get("imageUrl") or ""
        domain = (img.get("domain") or img.get("source") or "").lower()
        if not url.startswith(("http://", "https://")) or any(b in domain or b in url for b in BLOCKED_DOMAINS):
            continue
        out.append(SerperImage(url=url, width=img.get("imageWidth"), height=img.get("imageHeight"),
                               title=img.get("title") or "", domain=domain))
    return out
