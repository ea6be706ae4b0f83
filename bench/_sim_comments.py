"""The day simulation's stand-ins for the comment automation's outside world. The automation itself is the real
one (shared/comments/, on the dispatcher: peeks without the database, full polls in windows, AI replies through
the publishing engine in dry-run); only the two services it calls are stood in for:

- YouTube Data API `commentThreads` (our channel's listing): one video of ours (a live publication inserted at
  the start), gaining one new top-level comment an hour (at :17) as simulated time passes;
- YouTube `comments.insert` and `comments.list` (by parentId): the replies the live scenarios send, and the
  look-up that settles one whose answer was lost; each request is held to the YouTube Data API's discovery
  document (tests/contracts/validate.py `discovery`, as the platform fakes hold theirs), and a parentId must name
  a top-level comment that exists by then
  (https://developers.google.com/youtube/v3/docs/comments/insert: parentId "the ID of the top-level comment");
- OpenAI Chat Completions: a short reply with a token count.

Both answer on one local port the API process is pointed at (YOUTUBE_API_BASE, OPENAI_BASE_URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

CHANNEL = "UCsimchannel"
VIDEO = "simvideo01"
COMMENT_EVERY = 3600.0
COMMENT_OFFSET = 17 * 60.0


class CommentStandIns:
    def __init__(self, now: Callable[[], float], origin: float):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        self.now, self.origin = now, origin
        self.reads = 0
        self.completions = 0
        self.replies: dict[str, list[dict[str, Any]]] = {}  # top-level comment id -> our replies, oldest first
        self.refused: list[str] = []  # rules of the discovery document a request broke

        async def threads(request):
            self.reads += 1
            if request.query_params.get("allThreadsRelatedToChannelId") != CHANNEL:
                return JSONResponse({"error": {"code": 400, "message": "unknown channel"}}, status_code=400)
            latest = int((self.now() - self.origin - COMMENT_OFFSET) // COMMENT_EVERY)
            items = [self._thread(k) for k in range(latest, max(-1, latest - 100), -1)]
            return JSONResponse({"kind": "youtube#commentThreadListResponse", "items": items,
                                 "pageInfo": {"totalResults": len(items), "resultsPerPage": 100}})

        async def chat(request):
            self.completions += 1
            return JSONResponse({"id": f"chatcmpl-sim{self.completions}", "object": "chat.completion",
                                 "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                     "role": "assistant", "content": "Thanks for watching! It opens this Friday."}}],
                                 "usage": {"prompt_tokens": 180, "completion_tokens": 12, "total_tokens": 192}})

        async def comments(request):
            import httpx

            body = await request.body()
            broken = _discovery_breaks(httpx.Request(request.method, str(request.url), headers=request.headers.raw,
                                                     content=body))
            if broken:
                self.refused.extend(broken)
                return JSONResponse({"error": {"code": 400, "message": "; ".join(broken)}}, status_code=400)
            if request.method == "GET":
                parent = request.query_params.get("parentId", "")
                if not self._exists(parent):
                    return JSONResponse({"error": {"code": 404, "message": "The comment identified by the parentId "
                                                   "parameter could not be found."}}, status_code=404)
                items = list(self.replies.get(parent, []))
                return JSONResponse({"kind": "youtube#commentListResponse", "items": items,
                                     "pageInfo": {"totalResults": len(items), "resultsPerPage": 100}})
            snippet = (json.loads(body) if body else {}).get("snippet") or {}
            parent, text = str(snippet.get("parentId") or ""), str(snippet.get("textOriginal") or "")
            if not self._exists(parent):
                return JSONResponse({"error": {"code": 400, "message": "parentCommentNotFound: the parentId must "
                                               "name a top-level comment"}}, status_code=400)
            if not text.strip():
                return JSONResponse({"error": {"code": 400, "message": "commentTextRequired"}}, status_code=400)
            mine = self.replies.setdefault(parent, [])
            at = datetime.fromtimestamp(self.now(), timezone.utc).isoformat().replace("+00:00", "Z")
            reply = {"kind": "youtube#comment", "id": f"{parent}.r{len(mine) + 1}", "snippet": {
                "parentId": parent, "textOriginal": text, "textDisplay": text, "authorDisplayName": "screndly",
                "authorChannelId": {"value": CHANNEL}, "publishedAt": at}}
            mine.append(reply)
            return JSONResponse(reply)

        self.app = Starlette(routes=[Route("/youtube/v3/commentThreads", threads),
                                     Route("/youtube/v3/comments", comments, methods=["GET", "POST"]),
                                     Route("/v1/chat/completions", chat, methods=["POST"])])

    def _exists(self, comment_id: str) -> bool:
        """A top-level comment the listing has shown by now."""
        k = comment_id.removeprefix("simcomment")
        latest = int((self.now() - self.origin - COMMENT_OFFSET) // COMMENT_EVERY)
        return comment_id.startswith("simcomment") and k.isdigit() and int(k) <= latest

    def _thread(self, k: int) -> dict[str, Any]:
        at = datetime.fromtimestamp(self.origin + COMMENT_OFFSET + k * COMMENT_EVERY, timezone.utc)
        top = {"id": f"simcomment{k}", "snippet": {
            "videoId": VIDEO, "textOriginal": f"Question {k}: when does it come out?", "authorDisplayName": f"Fan {k}",
            "authorChannelId": {"value": f"UCfan{k}"}, "publishedAt": at.isoformat().replace("+00:00", "Z")}}
        return {"kind": "youtube#commentThread", "id": f"simthread{k}",
                "snippet": {"channelId": CHANNEL, "videoId": VIDEO, "topLevelComment": top}}


def _discovery_breaks(request) -> list[str]:
    """The rules of the YouTube Data API's discovery document the request breaks, for a token with SCOPES (the
    platform fakes' validator, tests/contracts/validate.py)."""
    import sys
    from pathlib import Path

    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    from contracts import validate

    return validate.discovery(request, set(SCOPES))


# what the simulated owner granted when connecting YouTube: uploads, and the comment scope replies need
SCOPES = ("https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube.force-ssl")


def env(base: str) -> dict[str, str]:
    return {"YOUTUBE_API_BASE": base, "OPENAI_BASE_URL": base + "/v1"}


def connect(published_at: float) -> None:
    """Our YouTube channel connected with the comment scope, and one video of ours published (live)."""
    from shared.db import connection
    from shared.publishing.connections import store

    store.save("youtube", CHANNEL, store.Tokens(access_token="sim-yt-token", scopes=list(SCOPES)),
               username="screndly", profile_url=None, metadata={})
    with connection() as c:
        c.execute("""INSERT INTO publications (idempotency_key, platform, family, source, content, state,
                         platform_post_id, published_at)
                     VALUES ('sim-video', 'youtube', 'youtube', 'compose', '{"title": "Sim trailer"}', 'published',
                             %s, to_timestamp(%s))""", (VIDEO, published_at))


# the high throttle (30 replies an hour): the comment tables time the hourly throttle with the database's own
# clock, which the simulation does not shift, so a whole simulated day of replies falls into one real hour
SETTINGS = {"commentRepliesActive": True, "openaiKey": "sk-sim-comments", "commentReplyFrequency": "instant",
            "commentThrottle": "high",
            "xCommentBlacklist": {"active": False}, "instagramCommentBlacklist": {"active": False},
            "youtubeCommentBlacklist": {"active": True, "pauseOldPosts": True, "pauseAfterHours": "48"}}
