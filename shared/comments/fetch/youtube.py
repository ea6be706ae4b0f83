"""YouTube: top-level comments on our videos, one listing for the whole channel.

`GET youtube/v3/commentThreads?part=snippet&allThreadsRelatedToChannelId=<our channel>&order=time` costs 1 quota
unit per page whatever the number of videos (youtube-v3-discovery.json; quota costs:
https://developers.google.com/youtube/v3/determine_quota_cost), read newest first until a comment older than
`since`. Threads on videos that are not our recent posts are ignored. The reply goes to the thread's top-level
comment (comments.insert with `parentId`).
"""

from __future__ import annotations

from shared.comments.fetch.base import MAX_PAGES, BudgetSpent, Fetched, ReadContext, parse_time, youtube_base


def read(ctx: ReadContext) -> list[Fetched]:
    ours = {p.post_id for p in ctx.posts}
    params = {"part": "snippet", "allThreadsRelatedToChannelId": ctx.account.account_id, "order": "time",
              "maxResults": "100", "textFormat": "plainText"}
    out: list[Fetched] = []
    try:
        for _ in range(MAX_PAGES):
            ctx.ensure(1)
            res = ctx.http.json("GET", f"{youtube_base()}/commentThreads", phase="prepare", params=params)
            ctx.spend(1)
            older = False
            for item in res.get("items") or []:
                sn = item.get("snippet") or {}
                top = sn.get("topLevelComment") or {}
                ts = top.get("snippet") or {}
                at = parse_time(ts.get("publishedAt"))
                if at is None or at <= ctx.since:
                    older = True
                    continue
                video = sn.get("videoId") or ts.get("videoId")
                if video not in ours:
                    continue
                out.append(Fetched(comment_id=str(top.get("id") or item.get("id")), post_id=str(video),
                                   text=ts.get("textOriginal") or ts.get("textDisplay") or "", commented_at=at,
                                   author_id=(ts.get("authorChannelId") or {}).get("value"),
                                   author_name=ts.get("authorDisplayName")))
            token = res.get("nextPageToken")
            if older or not token:
                break
            params["pageToken"] = token
    except BudgetSpent:
        ctx.exhausted = True
    return out
