"""Threads: top-level replies to each of our recent posts.

`GET /{threads-media-id}/replies?fields=id,text,username,timestamp&reverse=true` (newest first; needs
`threads_read_replies`): https://developers.facebook.com/documentation/threads/reference/reply-management ,
https://developers.facebook.com/docs/threads/reply-management . Read until a reply older than `since`.
"""

from __future__ import annotations

from shared.comments.fetch.base import (
    MAX_POSTS_PER_POLL,
    BudgetSpent,
    Fetched,
    ReadContext,
    graph_listing,
    parse_time,
    threads_base,
)


def read(ctx: ReadContext) -> list[Fetched]:
    out: list[Fetched] = []
    try:
        for post in ctx.posts[:MAX_POSTS_PER_POLL]:
            for r in graph_listing(ctx, f"{threads_base()}/{post.post_id}/replies",
                                   {"fields": "id,text,username,timestamp", "reverse": "true"}):
                at = parse_time(r.get("timestamp"))
                if at is None or at <= ctx.since:
                    break
                out.append(Fetched(comment_id=str(r["id"]), post_id=post.post_id, text=r.get("text") or "",
                                   commented_at=at, author_name=r.get("username")))
    except BudgetSpent:
        ctx.exhausted = True
    return out
