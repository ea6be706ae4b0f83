"""Facebook Page and Instagram comment endpoints on the Meta Graph fake.

Facebook: GET /{post-or-comment}/comments (PagePost / Comment `comments` edge: filter, order, since) and
POST /{comment-id}/comments (a reply written as the Page). Instagram: GET /{ig-media-id}/comments, GET and
POST /{ig-comment-id}/replies. Comments get numeric ids registered with their node type (Comment, IGComment),
so the fake's contract holds each request to that node's spec (tests/contracts/meta-graph: the edge, its
parameters, `fields`) and to the permissions documented for it (contracts/documented.META_PERMISSIONS).
Behaviour, with sources:
- Instagram: replies only to top-level comments ("replies to a reply will be added to the top-level comment"),
  none to hidden comments
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies);
- Facebook replies carry a `message`; their author is the Page
  (https://developers.facebook.com/documentation/pages-api/comments-mentions).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from publishing_fakes.comments_base import as_time, iso

V = r"/v\d+\.\d+"


def install(fake) -> None:
    if hasattr(fake, "comments"):
        return
    fake.comments = {}  # id -> {id, on, kind fb|ig, text, from_id, name, at, hidden, by_us}

    def fb_post(obj: str) -> dict | None:
        return next((x for x in fake.posts if x.get("pid") == obj and x.get("kind") in ("feed", "photo")), None)

    def ig_media(obj: str) -> dict | None:
        return next((x for x in fake.posts if x.get("pid") == obj and x.get("kind") == "ig"), None)

    def add(on: str, kind: str, text: str, name: str, from_id: str | None = None, by_us: bool = False) -> dict:
        with fake.lock:
            cid = fake.new_id("Comment" if kind == "fb" else "IGComment")
            c = {"id": cid, "on": on, "kind": kind, "text": text, "name": name,
                 "from_id": from_id or str(fake.next_id()), "at": time.time(), "hidden": False, "by_us": by_us}
            fake.comments[cid] = c
        return c

    def add_fb_comment(post_id: str, text: str, name: str = "Fan", from_id: str | None = None) -> dict:
        assert fb_post(post_id), f"no Page post {post_id}"
        return add(post_id, "fb", text, name, from_id)

    def add_ig_comment(media_id: str, text: str, username: str = "fan") -> dict:
        assert ig_media(media_id), f"no Instagram media {media_id}"
        return add(media_id, "ig", text, username)

    def fb_view(c: dict) -> dict:
        return {"id": c["id"], "message": c["text"], "created_time": iso(_dt(c["at"]), graph=True),
                "from": {"id": c["from_id"], "name": c["name"]}}

    def ig_view(c: dict) -> dict:
        return {"id": c["id"], "text": c["text"], "timestamp": iso(_dt(c["at"]), graph=True), "username": c["name"],
                "from": {"id": c["from_id"], "username": c["name"]}}

    def listing(request, rows: list, view) -> dict:
        q = fake.query(request)
        if q.get("order") == "reverse_chronological":
            rows = sorted(rows, key=lambda c: c["at"], reverse=True)
        since = as_time(q.get("since"))
        if since is not None:
            rows = [c for c in rows if c["at"] >= since]
        pg = fake.paginate(request, rows, "limit")
        return {"data": [view(c) for c in pg["chunk"]], **pg["extra"]}

    def refusal(request, obj: str, kind: str, message: str):
        """(the comment, None) or (None, the platform's answer): a valid token and a comment of that kind."""
        if not fake.authed(request):
            return None, fake.unauthorized()
        with fake.lock:
            target = fake.comments.get(obj)
        if target is None or target["kind"] != kind:
            return None, fake.json({"error": {"message": message, "code": 100}}, 400)
        return target, None

    def get_comments(request, obj):
        if not fake.authed(request):
            return fake.unauthorized()
        with fake.lock:
            if fb_post(obj) or (obj in fake.comments and fake.comments[obj]["kind"] == "fb"):
                view = fb_view
            elif ig_media(obj):
                view = ig_view
            else:
                return fake.json({"error": {"message": f"Unsupported get request. Object with ID '{obj}' does "
                                                       "not exist", "code": 100, "error_subcode": 33}}, 400)
            rows = [c for c in fake.comments.values() if c["on"] == obj and not c["hidden"]]
        return fake.json(listing(request, rows, view))

    def post_comment(request, obj):
        _target, refused = refusal(request, obj, "fb", "(#100) replies go to an existing comment")
        if refused is not None:
            return refused
        f = {**fake.query(request), **fake.form(request)}
        if not (f.get("message") or "").strip():
            return fake.json({"error": {"message": "(#100) Missing message or attachment", "code": 100}}, 400)
        c = add(obj, "fb", f["message"], fake.page["name"], fake.page["id"], by_us=True)
        fake.record_post(kind="fb_reply", text=f["message"], reply_to=obj, rid=c["id"])
        return fake.json({"id": c["id"]})

    def get_replies(request, obj):
        _, refused = refusal(request, obj, "ig", "Unsupported get request")
        if refused is not None:
            return refused
        with fake.lock:
            rows = [c for c in fake.comments.values() if c["on"] == obj]
        return fake.json(listing(request, rows, ig_view))

    def post_reply(request, obj):
        target, refused = refusal(request, obj, "ig", "Unsupported post request")
        if refused is not None:
            return refused
        message = fake.query(request).get("message") or ""
        if not message.strip():
            return fake.json({"error": {"message": "(#100) The parameter message is required", "code": 100}}, 400)
        if target["hidden"]:
            return fake.json({"error": {"message": "You cannot reply to a hidden comment", "code": 100}}, 400)
        top = target if fake.comments.get(target["on"]) is None else fake.comments[target["on"]]
        c = add(top["id"], "ig", message, fake.ig["username"], fake.ig["id"], by_us=True)
        fake.record_post(kind="ig_reply", text=message, reply_to=top["id"], rid=c["id"])
        return fake.json({"id": c["id"]})

    fake.route("GET", V + r"/(?P<obj>\w+)/comments", "comments", get_comments)
    fake.route("POST", V + r"/(?P<obj>\w+)/comments", "comment_reply", post_comment)
    fake.route("GET", V + r"/(?P<obj>\w+)/replies", "replies", get_replies)
    fake.route("POST", V + r"/(?P<obj>\w+)/replies", "ig_reply", post_reply)
    fake.add_fb_comment = add_fb_comment
    fake.add_ig_comment = add_ig_comment


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
