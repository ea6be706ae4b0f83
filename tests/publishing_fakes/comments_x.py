"""X comment endpoints on the X fake: recent search of our posts' conversations, and replies through POST /2/tweets.

Rules it enforces, with sources:
- every request matches x-openapi.json (the fake's contract: `GET /2/tweets/search/recent`, `POST /2/tweets` with
  CreatePostsRequest / CreatePostsReply, the operations' OAuth scopes);
- a reply must answer a post that exists (https://docs.x.com/x-api/posts/create-post: "reply.in_reply_to_tweet_id");
- search answers `conversation_id:` operators OR-ed, `is:reply`, `-from:`; `since_id` / `start_time` bound the
  results, newest first (https://docs.x.com/x-api/fundamentals/conversation-id ,
  https://docs.x.com/x-api/posts/search/introduction); every post returned is charged to the post cap
  (counted in `posts_read`, https://docs.x.com/x-api/fundamentals/post-cap).
"""

from __future__ import annotations

import re
import time

from publishing_fakes.comments_base import as_time, handler, iso, now, route_first


def install(fake) -> None:
    if hasattr(fake, "viewer_replies"):
        return
    fake.viewer_replies = []
    fake.posts_read = 0
    original = handler(fake, "tweet", "POST")

    def add_reply(post_id: str, text: str, username: str = "fan", author_id: str | None = None) -> dict:
        with fake.lock:
            r = {"id": fake.next_id(), "text": text, "conversation_id": str(post_id),
                 "in_reply_to_user_id": fake.user["id"], "author_id": author_id or f"9{fake.next_id()}",
                 "username": username, "at": time.time()}
            fake.viewer_replies.append(r)
        return r

    def our_post(pid: str) -> dict | None:
        return next((p for p in fake.posts if str(p["id"]) == str(pid)), None)

    def tweet(request):
        body = fake.body(request)
        to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if to:
            target = next((r for r in fake.viewer_replies if r["id"] == str(to)), None) or our_post(to)
            if target is None:
                return fake.json({"detail": "You attempted to reply to a Tweet that is deleted or not visible to "
                                            "you.", "title": "Invalid Request", "status": 400}, 400)
        resp = original(request)
        if to and resp.status_code < 300:
            pid = resp.json()["data"]["id"]
            with fake.lock:
                post = our_post(pid)
                root = next((r["conversation_id"] for r in fake.viewer_replies if r["id"] == str(to)), str(to))
                post.update(in_reply_to=str(to), conversation_id=root)
        return resp

    def search(request):
        if not fake.authed(request):
            return fake.unauthorized()
        q = fake.query(request)
        conv = set(re.findall(r"conversation_id:(\d+)", q["query"]))
        excluded = {u.lower() for u in re.findall(r"-from:(\w+)", q["query"])}
        since_id = int(q["since_id"]) if q.get("since_id") else None
        start = as_time(q.get("start_time"))
        me = fake.user
        with fake.lock:
            rows = [dict(r) for r in fake.viewer_replies if r["conversation_id"] in conv]
            rows += [{"id": str(p["id"]), "text": p["text"], "conversation_id": p["conversation_id"],
                      "in_reply_to_user_id": "0", "author_id": me["id"], "username": me["username"], "at": p["at"]}
                     for p in fake.posts if p.get("conversation_id") in conv]
        rows = [r for r in rows if r["username"].lower() not in excluded
                and (since_id is None or int(r["id"]) > since_id) and (start is None or r["at"] >= start)]
        rows.sort(key=lambda r: int(r["id"]), reverse=True)
        limit = int(q.get("max_results", 10))
        start_at = int(q.get("next_token") or q.get("pagination_token") or 0)
        chunk = rows[start_at:start_at + limit]
        more = start_at + limit < len(rows)
        pg = {"chunk": chunk, "extra": {"meta": {"result_count": len(chunk),
                                                 **({"next_token": str(start_at + limit)} if more else {})}}}
        with fake.lock:
            fake.posts_read += len(chunk)
        data = [{"id": r["id"], "text": r["text"], "conversation_id": r["conversation_id"],
                 "in_reply_to_user_id": r["in_reply_to_user_id"], "author_id": r["author_id"],
                 "created_at": iso(_dt(r["at"])), "edit_history_tweet_ids": [r["id"]]} for r in pg["chunk"]]
        body = {**pg["extra"]}
        if data:
            body["data"] = data
            body["includes"] = {"users": [{"id": r["author_id"], "username": r["username"], "name": r["username"]}
                                          for r in pg["chunk"]]}
        body["meta"] = {**body.get("meta", {}), "newest_id": data[0]["id"]} if data else body.get("meta", {})
        return fake.json(body)

    route_first(fake, "POST", r"/2/tweets", "tweet", tweet)
    fake.route("GET", r"/2/tweets/search/recent", "search", search)
    fake.add_reply = add_reply


def _dt(ts: float):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, timezone.utc) if ts else now()
