"""The day simulation's stand-ins for the comment automation's outside world. The automation itself is the real
one (shared/comments/, on the dispatcher: peeks without the database, full polls in windows, AI replies through
the publishing engine in dry-run); only the two services it calls are stood in for:

- YouTube Data API `commentThreads` (our channel's listing): one video of ours (a live publication inserted at
  the start), gaining one new top-level comment an hour (at :17) as simulated time passes;
- OpenAI Chat Completions: a short reply with a token count.

Both answer on one local port the API process is pointed at (YOUTUBE_API_BASE, OPENAI_BASE_URL).
"""

from __future__ import annotations

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

        self.app = Starlette(routes=[Route("/youtube/v3/commentThreads", threads),
                                     Route("/v1/chat/completions", chat, methods=["POST"])])

    def _thread(self, k: int) -> dict[str, Any]:
        at = datetime.fromtimestamp(self.origin + COMMENT_OFFSET + k * COMMENT_EVERY, timezone.utc)
        top = {"id": f"simcomment{k}", "snippet": {
            "videoId": VIDEO, "textOriginal": f"Question {k}: when does it come out?", "authorDisplayName": f"Fan {k}",
            "authorChannelId": {"value": f"UCfan{k}"}, "publishedAt": at.isoformat().replace("+00:00", "Z")}}
        return {"kind": "youtube#commentThread", "id": f"simthread{k}",
                "snippet": {"channelId": CHANNEL, "videoId": VIDEO, "topLevelComment": top}}


def env(base: str) -> dict[str, str]:
    return {"YOUTUBE_API_BASE": base, "OPENAI_BASE_URL": base + "/v1"}


def connect(published_at: float) -> None:
    """Our YouTube channel connected with the comment scope, and one video of ours published (live)."""
    from shared.db import connection
    from shared.publishing.connections import store

    store.save("youtube", CHANNEL, store.Tokens(access_token="sim-yt-token", scopes=[
        "https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube.force-ssl"]),
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
