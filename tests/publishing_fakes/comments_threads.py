"""Threads reply endpoints on the Threads fake. Threads publishes no machine-readable description: the
documented parameters, fields and permissions of GET /{threads-media-id}/replies are in
tests/contracts/documented.py (the fake's contract holds every request to them); this adds the behaviour:
- top-level replies only, `reverse` true (default, newest first) or false, cursor paging
  (https://developers.facebook.com/documentation/threads/reference/reply-management);
- a reply is a container with `reply_to_id` (a reply on one of the profile's posts) + `media_type` + `text`, then
  threads_publish (https://developers.facebook.com/documentation/threads/retrieve-and-manage-replies/create-replies);
- 1,000 API-published replies per 24 h (https://developers.facebook.com/docs/threads/reply-management): the
  1,001st reply container is refused.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from publishing_fakes.comments_base import handler, iso, route_first

REPLY_QUOTA = 1000


def install(fake) -> None:
    if hasattr(fake, "viewer_replies"):
        return
    fake.viewer_replies = {}  # id -> {id, to, text, username, at}
    original = handler(fake, "container", "POST")

    def our_posts() -> dict[str, dict]:
        return {p["pid"]: p for p in fake.posts}

    def add_reply(post_id: str, text: str, username: str = "fan") -> dict:
        assert post_id in our_posts(), f"no Threads post {post_id}"
        with fake.lock:
            r = {"id": f"1{fake.next_id()}", "to": post_id, "text": text, "username": username, "at": time.time()}
            fake.viewer_replies[r["id"]] = r
        return r

    def problem(msg: str):
        return fake.json({"error": {"message": msg, "code": 100}}, 400)

    def container(request, uid):
        q = fake.query(request)
        to = q.get("reply_to_id")
        if to is None:
            return original(request, uid)
        if not fake.authed(request):
            return fake.unauthorized()
        with fake.lock:
            root_ok = to in fake.viewer_replies or to in our_posts()
            used = sum(1 for p in fake.posts if p.get("reply_to") and time.time() - p["at"] < 86400)
        if not root_ok:
            return problem(f"reply_to_id {to} is not a reply on one of this profile's posts")
        if q.get("media_type") not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL") or not (q.get("text") or "").strip():
            return problem("a reply container needs media_type and text")
        if used >= REPLY_QUOTA:
            return fake.json({"error": {"message": "reply publishing limit reached", "code": 4}}, 400)
        return original(request, uid)

    def replies(request, obj):
        if not fake.authed(request):
            return fake.unauthorized()
        q = fake.query(request)
        with fake.lock:
            if obj not in fake.viewer_replies and obj not in our_posts():
                return fake.json({"error": {"message": "Object does not exist", "code": 100}}, 400)
            rows = [{"id": r["id"], "text": r["text"], "username": r["username"], "at": r["at"], "mine": False}
                    for r in fake.viewer_replies.values() if r["to"] == obj]
            for post in fake.posts:
                params = (fake.containers.get(post.get("container")) or {}).get("params") or {}
                if params.get("reply_to_id") == obj:
                    rows.append({"id": post["pid"], "text": post["text"], "username": fake.user["username"],
                                 "at": post["at"], "mine": True})
        rows.sort(key=lambda r: r["at"], reverse=q.get("reverse", "true") == "true")
        pg = fake.paginate(request, rows, "limit")  # the platform's page size (the endpoint takes no limit)
        return fake.json({"data": [{"id": r["id"], "text": r["text"], "username": r["username"],
                                    "timestamp": iso(datetime.fromtimestamp(r["at"], timezone.utc), graph=True),
                                    "permalink": f"https://www.threads.net/@{r['username']}/post/{r['id']}",
                                    "is_reply_owned_by_me": r["mine"]} for r in pg["chunk"]], **pg["extra"]})

    def publish(request, uid):
        resp = publish_original(request, uid)
        if resp.status_code < 300:
            cid = fake.query(request).get("creation_id")
            with fake.lock:
                to = fake.containers[cid]["params"].get("reply_to_id")
                if to:
                    next(p for p in fake.posts if p.get("container") == cid)["reply_to"] = to
        return resp

    publish_original = handler(fake, "publish", "POST")
    route_first(fake, "POST", r"/v1\.0/(?P<uid>\d+)/threads", "container", container)
    route_first(fake, "POST", r"/v1\.0/(?P<uid>\d+)/threads_publish", "publish", publish)
    fake.route("GET", r"/v1\.0/(?P<obj>\w+)/replies", "replies", replies)
    fake.add_reply = add_reply
