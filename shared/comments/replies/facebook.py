"""Facebook Page: a reply is a comment on the comment, written as the Page: POST /{comment-id}/comments with
`message` (meta-graph/Comment.json `comments` edge; `pages_manage_engagement`,
https://developers.facebook.com/documentation/pages-api/comments-mentions). We only ever reply in public; Meta's
private replies (one per comment) are not used.

Look-up: the comment's own comments, the one from our Page with our text.
"""

from __future__ import annotations

from shared.comments.fetch.base import meta_base
from shared.comments.replies.base import comment_id, is_ours, mark_sent
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext, graph_pages


class FacebookReplyAdapter:
    family = "facebook"

    def publish(self, ctx: PublishContext) -> PostResult:
        to, text = comment_id(ctx), ctx.content.text
        mark_sent(ctx, text)
        res = ctx.http.json("POST", f"{meta_base()}/{to}/comments", phase="commit", data={"message": text})
        rid = str(res["id"])
        return PostResult(rid, f"https://www.facebook.com/{rid}")

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the reply was never sent")
        to = ctx.progress.get("reply_to") or ctx.content.reply_to
        page = str(ctx.account.account_id)
        for c in graph_pages(ctx, f"{meta_base()}/{to}/comments",
                             {"fields": "id,message,from,created_time", "order": "reverse_chronological",
                              "limit": "50"}):
            frm = (c.get("from") or {}).get("id")
            if (frm is None or str(frm) == page) and is_ours(ctx, c.get("message")):
                return PostResult(str(c["id"]), f"https://www.facebook.com/{c['id']}", {"settledBy": "lookup"})
        return None


ADAPTER = FacebookReplyAdapter()
