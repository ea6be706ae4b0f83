"""YouTube: a reply is comments.insert (POST youtube/v3/comments?part=snippet, body {snippet: {parentId,
textOriginal}}, scope youtube.force-ssl; youtube-v3-discovery.json). It costs 50 quota units; a look-up
(comments.list by parentId) costs 1 (https://developers.google.com/youtube/v3/determine_quota_cost).

Look-up: the top-level comment's replies, the one written by our channel with our text.
"""

from __future__ import annotations

from shared.comments.fetch.base import youtube_base
from shared.comments.replies.base import comment_id, is_ours, mark_sent
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext


class YouTubeReplyAdapter:
    family = "youtube"

    def publish(self, ctx: PublishContext) -> PostResult:
        from shared.usage import meter

        to, text = comment_id(ctx), ctx.content.text
        mark_sent(ctx, text)
        meter.count("youtube.quota_units", 50)  # charged whether or not the answer reaches us
        res = ctx.http.json("POST", f"{youtube_base()}/comments", phase="commit", params={"part": "snippet"},
                            json={"snippet": {"parentId": to, "textOriginal": text}})
        return PostResult(str(res["id"]))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        from shared.usage import meter

        if not ctx.progress.get("commit_sent"):
            return NotPublished("the reply was never sent")
        to = ctx.progress.get("reply_to") or ctx.content.reply_to
        params = {"part": "snippet", "parentId": str(to), "maxResults": "100", "textFormat": "plainText"}
        for _ in range(3):
            meter.count("youtube.quota_units", 1)
            res = ctx.http.json("GET", f"{youtube_base()}/comments", phase="confirm", params=params)
            for item in res.get("items") or []:
                sn = item.get("snippet") or {}
                author = (sn.get("authorChannelId") or {}).get("value")
                if (author is None or str(author) == str(ctx.account.account_id)) \
                        and is_ours(ctx, sn.get("textOriginal") or sn.get("textDisplay")):
                    return PostResult(str(item["id"]), None, {"settledBy": "lookup"})
            token = res.get("nextPageToken")
            if not token:
                break
            params["pageToken"] = token
        return None


ADAPTER = YouTubeReplyAdapter()
