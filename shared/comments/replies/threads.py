"""Threads: a reply is a TEXT container with `reply_to_id`, then `threads_publish`
(https://developers.facebook.com/documentation/threads/retrieve-and-manage-replies/create-replies; needs
`threads_manage_replies`). The container publishes at most once, so a lost publish answer is settled like a
post's: ERROR/EXPIRED proves nothing was published, PUBLISHED sends us to the comment's replies for our text.
"""

from __future__ import annotations

from shared.comments.fetch.base import threads_base
from shared.comments.replies.base import comment_id, mark_sent
from shared.publishing.adapters.base import (
    NotPublished,
    PostResult,
    PublishContext,
    container_lookup,
    graph_permalink,
)


class ThreadsReplyAdapter:
    family = "threads"

    def publish(self, ctx: PublishContext) -> PostResult:
        to, text, uid = comment_id(ctx), ctx.content.text, ctx.account.account_id
        cid = ctx.progress.get("container_id")
        if not cid:
            cid = str(ctx.http.json("POST", f"{threads_base()}/{uid}/threads", phase="prepare",
                                    params={"media_type": "TEXT", "text": text, "reply_to_id": to})["id"])
            ctx.save(container_id=cid)
        mark_sent(ctx, text)
        res = ctx.http.json("POST", f"{threads_base()}/{uid}/threads_publish", phase="commit",
                            params={"creation_id": cid})
        rid = str(res["id"])
        return PostResult(rid, graph_permalink(ctx, threads_base(), rid))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        to = ctx.progress.get("reply_to") or ctx.content.reply_to
        return container_lookup(ctx, base=threads_base(), status_field="status",
                                listing_url=f"{threads_base()}/{to}/replies",
                                listing_params={"fields": "id,text,username,permalink,timestamp", "reverse": "true"},
                                text_field="text")


ADAPTER = ThreadsReplyAdapter()
