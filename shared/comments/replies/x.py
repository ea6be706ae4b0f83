"""X: a reply is a post with `reply.in_reply_to_tweet_id` (POST /2/tweets, x-openapi.json CreatePostsRequest).

Look-up after a lost answer: our own timeline around the time the reply was sent (GET /2/users/{id}/tweets,
replies included), the post that answers the comment (`referenced_tweets` replied_to, when X returns it) with
our text. Not finding it proves nothing (the timeline lags), so the answer is "unknown", never "absent".
"""

from __future__ import annotations

from datetime import datetime, timezone

from shared.comments.fetch.base import x_base
from shared.comments.replies.base import comment_id, is_ours, mark_sent
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext, window

LOOKUP_PAGES = 3


def _url(ctx: PublishContext, post_id: str) -> str:
    return f"https://x.com/{ctx.account.username or 'i/web'}/status/{post_id}"


class XReplyAdapter:
    family = "x"

    def publish(self, ctx: PublishContext) -> PostResult:
        to, text = comment_id(ctx), ctx.content.text
        mark_sent(ctx, text)
        res = ctx.http.json("POST", f"{x_base()}/2/tweets", phase="commit",
                            json={"text": text, "reply": {"in_reply_to_tweet_id": to}})
        pid = str(res["data"]["id"])
        return PostResult(pid, _url(ctx, pid))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the reply was never sent")
        to = ctx.progress.get("reply_to") or ctx.content.reply_to
        params = {"max_results": "100", "tweet.fields": "created_at,referenced_tweets"}
        w = window(ctx.progress)
        if w:
            iso = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
            params["start_time"] = iso(w[0])
            if w[1] < datetime.now(timezone.utc).timestamp() - 10:  # X wants end_time >= 10 s in the past
                params["end_time"] = iso(w[1])
        for _ in range(LOOKUP_PAGES):
            res = ctx.http.json("GET", f"{x_base()}/2/users/{ctx.account.account_id}/tweets", phase="confirm",
                                params=params)
            for t in res.get("data") or []:
                refs = t.get("referenced_tweets")
                answers = refs is None or any(r.get("type") == "replied_to" and str(r.get("id")) == str(to)
                                              for r in refs)
                if answers and is_ours(ctx, t.get("text")):
                    return PostResult(str(t["id"]), _url(ctx, str(t["id"])), {"settledBy": "lookup"})
            token = (res.get("meta") or {}).get("next_token")
            if not token:
                break
            params["pagination_token"] = token
        return None


ADAPTER = XReplyAdapter()
