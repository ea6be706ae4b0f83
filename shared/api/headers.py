"""Response headers for /api: answers carry account data and depend on the bearer token, so no shared cache
(browser, CDN, Vercel's edge) may store them."""

from __future__ import annotations


class NoStoreForApi:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/api"):
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [(b"cache-control", b"no-store"), (b"vary", b"Authorization")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
