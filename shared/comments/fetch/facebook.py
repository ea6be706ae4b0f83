"""Facebook Page: top-level comments on each of our recent posts.

`GET /{object-id}/comments?filter=toplevel&order=reverse_chronological&since=<unix>` (PagePost / Photo / video
`comments` edge, meta-graph/PagePost.json: filter, order, since) with `fields=id,message,from,created_time`;
`from` is only filled with `pages_read_user_content`. One call per page of results, charged to the hourly
Graph budget.
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
    since = str(int(ctx.since.timestamp()))
    try:
        for post in ctx.posts[:MAX_POSTS_PER_POLL]:
            for c in graph_listing(ctx, f"{meta_base()}/{post.post_id}/comments",
                                   {"filter": "toplevel", "order": "reverse_chronological", "since": since,
                                    "fields": "id,message,from,created_time", "limit": "50"}):
                at = parse_time(c.get("created_time"))
                if at is None or at <= ctx.since:
                    break  # newest first: the rest is older
                frm = c.get("from") or {}
                out.append(Fetched(comment_id=str(c["id"]), post_id=post.post_id, text=c.get("message") or "",
                                   commented_at=at, author_id=frm.get("id"), author_name=frm.get("name")))
    except BudgetSpent:
        ctx.exhausted = True
    return out
