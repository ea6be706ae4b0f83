"""YouTube comment endpoints on the YouTube fake: commentThreads.list, comments.list, comments.insert.

Rules, with sources:
- every request matches youtube-v3-discovery.json (the fake's contract: methods, required `part`, enums,
  maxResults 1..100, the Comment request body with declared fields only, scope youtube.force-ssl);
- `allThreadsRelatedToChannelId` lists the threads of the channel's videos; `order=time` is newest first; pages
  by `nextPageToken` (https://developers.google.com/youtube/v3/docs/commentThreads/list);
- a reply needs `snippet.parentId` naming a top-level comment; replies to replies are not possible
  (https://developers.google.com/youtube/v3/docs/comments/insert: parentId "the ID of the top-level comment");
- quota: list 1 unit, insert 50 (https://developers.google.com/youtube/v3/determine_quota_cost), kept in `units`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from publishing_fakes.comments_base import iso


def install(fake) -> None:
    if hasattr(fake, "threads"):
        return
    fake.threads = []  # top-level comments, newest last, each with its replies
    fake.units = 0
    channel = "UC123"

    def err(status, reason, msg):
        return fake._err(status, reason, msg)

    def add_comment(video_id: str, text: str, author: str = "Fan", author_channel: str | None = None) -> dict:
        if video_id not in fake.videos:
            raise AssertionError(f"no video {video_id} on the fake channel")
        with fake.lock:
            t = {"id": f"Ug{fake.next_id()}", "videoId": video_id, "text": text, "author": author,
                 "authorChannelId": author_channel or f"UCfan{fake.next_id()}", "at": time.time(), "replies": []}
            fake.threads.append(t)
        return t

    def comment_resource(c: dict, parent: str | None = None) -> dict:
        sn = {"channelId": channel, "videoId": c.get("videoId"), "textDisplay": c["text"], "textOriginal": c["text"],
              "authorDisplayName": c["author"], "authorChannelId": {"value": c["authorChannelId"]},
              "canRate": True, "viewerRating": "none", "likeCount": 0, "publishedAt": iso(_dt(c["at"])),
              "updatedAt": iso(_dt(c["at"]))}
        if parent:
            sn["parentId"] = parent
        return {"kind": "youtube#comment", "etag": "e", "id": c["id"], "snippet": sn}

    def page(request, rows: list, build) -> dict:
        q = fake.query(request)
        size = int(q.get("maxResults", 20))
        start = int(q.get("pageToken") or 0)
        chunk = rows[start:start + size]
        body = {"kind": "youtube#commentThreadListResponse", "items": [build(x) for x in chunk],
                "pageInfo": {"totalResults": len(rows), "resultsPerPage": size}}
        if start + size < len(rows):
            body["nextPageToken"] = str(start + size)
        return body

    def list_threads(request):
        if not fake.authed(request):
            return err(401, "authError", "Invalid Credentials")
        q = fake.query(request)
        with fake.lock:
            fake.units += 1
            if q.get("allThreadsRelatedToChannelId"):
                if q["allThreadsRelatedToChannelId"] != channel:
                    return err(403, "forbidden", "The comment threads of this channel cannot be retrieved")
                rows = list(fake.threads)
            elif q.get("videoId"):
                rows = [t for t in fake.threads if t["videoId"] == q["videoId"]]
            else:
                return err(400, "missingRequiredParameter", "No filter selected.")
            rows.sort(key=lambda t: t["at"], reverse=q.get("order", "time") == "time")
            return fake.json(page(request, rows, lambda t: {
                "kind": "youtube#commentThread", "etag": "e", "id": t["id"],
                "snippet": {"channelId": channel, "videoId": t["videoId"], "canReply": True, "isPublic": True,
                            "totalReplyCount": len(t["replies"]),
                            "topLevelComment": comment_resource(t)}}))

    def list_comments(request):
        if not fake.authed(request):
            return err(401, "authError", "Invalid Credentials")
        q = fake.query(request)
        with fake.lock:
            fake.units += 1
            t = next((t for t in fake.threads if t["id"] == q.get("parentId")), None)
            if t is None:
                return err(404, "commentNotFound", "The comment identified by the parentId parameter could not be "
                                                   "found.")
            return fake.json(page(request, list(t["replies"]), lambda r: comment_resource(r, t["id"])))

    def insert(request):
        if not fake.authed(request):
            return err(401, "authError", "Invalid Credentials")
        sn = (fake.body(request).get("snippet") or {})
        with fake.lock:
            fake.units += 50
            t = next((t for t in fake.threads if t["id"] == sn.get("parentId")), None)
            if t is None:
                return err(400, "invalidCommentMetadata" if not sn.get("parentId") else "parentCommentNotFound",
                           "The parentId must name a top-level comment")
            if not (sn.get("textOriginal") or "").strip():
                return err(400, "commentTextRequired", "The comment resource must contain a snippet.textOriginal")
            r = {"id": f"{t['id']}.{fake.next_id()}", "text": sn["textOriginal"], "author": "Screndly",
                 "authorChannelId": channel, "at": time.time()}
            t["replies"].append(r)
            fake.record_post(text=sn["textOriginal"], reply_to=t["id"], kind="comment_reply", rid=r["id"])
        return fake.json(comment_resource(r, t["id"]))

    fake.route("GET", r"/youtube/v3/commentThreads", "comment_threads", list_threads)
    fake.route("GET", r"/youtube/v3/comments", "comments_list", list_comments)
    fake.route("POST", r"/youtube/v3/comments", "comment_insert", insert)
    fake.add_comment = add_comment


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
