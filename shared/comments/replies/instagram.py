"""Instagram: a reply is POST /{ig-comment-id}/replies?message=... (meta-graph/IGComment.json `replies` edge;
`instagram_manage_comments`,
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies).
Only top-level comments take replies, and those are the only ones we read.

Look-up: the comment's replies (GET /{ig-comment-id}/replies), the one by our account with our text.
"""

from __future__ import annotations

from shared.comments.fetch.base import meta_base
from shared.comments.replies.base import comment_id, is_ours, mark_sent
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext, graph_pages


class InstagramReplyAdapter:
    family = "instagram"

    def publish(self, ctx: PublishContext) -> PostResult:
        to, text = comment_id(ctx), ctx.content.text
        mark_sent(ctx, text)
        res = ctx.http.json("POST", f"{meta_base()}/{to}/replies", phase="commit", params={"message": text})
        return PostResult(str(res["id"]))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the reply was never sent")
        to = ctx.progress.get("reply_to") or ctx.content.reply_to
        me = (ctx.account.username or "").lower()
        for r in graph_pages(ctx, f"{meta_base()}/{to}/replies", {"fields": "id,text,username,timestamp",
                                                                   "limit": "50"}):
            by = (r.get("username") or "").lower()
            if (not me or not by or by == me) and is_ours(ctx, r.get("text")):
                return PostResult(str(r["id"]), None, {"settledBy": "lookup"})
        return None


ADAPTER = InstagramReplyAdapter()
