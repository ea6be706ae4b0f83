"""Facebook Page and Instagram comment endpoints on the Meta Graph fake.

Facebook: GET /{post-or-comment}/comments (PagePost / Comment `comments` edge: filter, order, since) and
POST /{comment-id}/comments (a reply written as the Page). Instagram: GET /{ig-media-id}/comments, GET and
POST /{ig-comment-id}/replies. Rules, with sources:
- each request matches the node spec of the object it names (meta-graph/PagePost.json, Comment.json, IGMedia.json,
  IGComment.json via comments_contract), `fields` included;
- Instagram: replies only to top-level comments ("replies to a reply will be added to the top-level comment"),
  none to hidden comments
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies);
- Facebook replies need a Page token and a `message`
  (https://developers.facebook.com/documentation/pages-api/comments-mentions); the author of the reply is the Page.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from publishing_fakes.comments_base import as_time, checked, iso, prepare


def install(fake) -> None:
    if hasattr(fake, "comments"):
        return
    prepare(fake)
    fake.comments = {}  # id -> {id, on, kind fb|ig, text, from_id, name, at, hidden, by_us}
    p = fake.prefix

    def fb_post(obj: str) -> dict | None:
        return next((x for x in fake.posts if x.get("pid") == obj and x.get("kind") in ("feed", "photo")), None)

    def ig_media(obj: str) -> dict | None:
        return next((x for x in fake.posts if x.get("pid") == obj and x.get("kind") == "ig"), None)

    def add(on: str, kind: str, text: str, name: str, from_id: str | None = None, by_us: bool = False) -> dict:
        with fake.lock:
            cid = f"{kind}c{fake.next_id()}"
            c = {"id": cid, "on": on, "kind": kind, "text": text, "name": name,
                 "from_id": from_id or f"{kind}u{fake.next_id()}", "at": time.time(), "hidden": False,
                 "by_us": by_us}
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

    def get_comments(request, obj):
        if not fake.authed(request):
            return fake.unauthorized()
        with fake.lock:
            if fb_post(obj):
                kind, node = "fb", "meta.PagePost.comments"
            elif ig_media(obj):
                kind, node = "ig", "meta.IGMedia.comments"
            elif obj in fake.comments and fake.comments[obj]["kind"] == "fb":
                kind, node = "fb", "meta.Comment.comments"
            else:
                return fake.json({"error": {"message": f"Unsupported get request. Object with ID '{obj}' does "
                                                       "not exist", "code": 100, "error_subcode": 33}}, 400)
        bad = checked(fake, node, request)
        if bad is not None:
            return bad
        with fake.lock:
            rows = [c for c in fake.comments.values() if c["on"] == obj and not c["hidden"]]
        return fake.json(listing(request, rows, fb_view if kind == "fb" else ig_view))

    def comment_target(request, obj: str, kind: str, check: str, missing: str):
        """(the comment, None) or (None, the platform's refusal): token, the comment's kind, its node spec."""
        if not fake.authed(request):
            return None, fake.unauthorized()
        with fake.lock:
            target = fake.comments.get(obj)
        if target is None or target["kind"] != kind:
            return None, fake.json({"error": {"message": missing, "code": 100}}, 400)
        return target, checked(fake, check, request)

    def post_comment(request, obj):
        target, bad = comment_target(request, obj, "fb", "meta.Comment.comments",
                                     "(#100) replies go to an existing comment")
        if bad is not None:
            return bad
        f = fake._check(request)
        if not (f.get("message") or "").strip():
            return fake.json({"error": {"message": "(#100) Missing message or attachment", "code": 100}}, 400)
        c = add(obj, "fb", f["message"], fake.page["name"], fake.page["id"], by_us=True)
        fake.record_post(kind="fb_reply", text=f["message"], reply_to=obj, rid=c["id"])
        return fake.json({"id": c["id"]})

    def get_replies(request, obj):
        _, bad = comment_target(request, obj, "ig", "meta.IGComment.replies", "Unsupported get request")
        if bad is not None:
            return bad
        with fake.lock:
            rows = [c for c in fake.comments.values() if c["on"] == obj]
        return fake.json(listing(request, rows, ig_view))

    def post_reply(request, obj):
        target, bad = comment_target(request, obj, "ig", "meta.IGComment.replies", "Unsupported post request")
        if bad is not None:
            return bad
        message = fake.query(request).get("message") or ""
        if not message.strip():
            return fake.json({"error": {"message": "(#100) The parameter message is required", "code": 100}}, 400)
        if target["hidden"]:
            return fake.json({"error": {"message": "You cannot reply to a hidden comment", "code": 100}}, 400)
        top = target if fake.comments.get(target["on"]) is None else fake.comments[target["on"]]
        c = add(top["id"], "ig", message, fake.ig["username"], fake.ig["id"], by_us=True)
        fake.record_post(kind="ig_reply", text=message, reply_to=top["id"], rid=c["id"])
        return fake.json({"id": c["id"]})

    fake.route("GET", p + r"/(?P<obj>\w+)/comments", "comments", get_comments)
    fake.route("POST", p + r"/(?P<obj>\w+)/comments", "comment_reply", post_comment)
    fake.route("GET", p + r"/(?P<obj>\w+)/replies", "replies", get_replies)
    fake.route("POST", p + r"/(?P<obj>\w+)/replies", "ig_reply", post_reply)
    fake.add_fb_comment = add_fb_comment
    fake.add_ig_comment = add_ig_comment


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
