"""Instagram (Graph API with Facebook Login): comments on each of our recent media.

`GET /{ig-media-id}/comments?fields=id,text,timestamp,username,from` (meta-graph/IGMedia.json `comments` edge,
IGComment fields). The edge takes no `since`, so comments at or before `since` are dropped here; it returns
top-level comments only, which are the ones a reply may answer
(https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies).
"""

from __future__ import annotations

from shared.comments.fetch.base import (
    MAX_POSTS_PER_POLL,
    BudgetSpent,
    Fetched,
    ReadContext,
    graph_listing,
    meta_base,
    parse_time,
)


def read(ctx: ReadContext) -> list[Fetched]:
    out: list[Fetched] = []
    try:
        for post in ctx.posts[:MAX_POSTS_PER_POLL]:
            for c in graph_listing(ctx, f"{meta_base()}/{post.post_id}/comments",
                                   {"fields": "id,text,timestamp,username,from", "limit": "50"}):
                at = parse_time(c.get("timestamp"))
                if at is None or at <= ctx.since:
                    continue
                frm = c.get("from") or {}
                out.append(Fetched(comment_id=str(c["id"]), post_id=post.post_id, text=c.get("text") or "",
                                   commented_at=at, author_id=frm.get("id"),
                                   author_name=c.get("username") or frm.get("username")))
    except BudgetSpent:
        ctx.exhausted = True
    return out
