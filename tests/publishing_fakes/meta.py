"""Fake Meta Graph API: Facebook Login token exchange (no PKCE) and long-lived tokens, /me/accounts (several
Pages, each with a Page token that inherits the user's permissions), Page posts (feed, photos, photo stories),
videos by the Resumable Upload API (`/{app-id}/uploads` -> `upload:<id>` -> `graph-video/{page}/videos` with
`fbuploader_video_file_chunk`), Instagram containers (image, REELS, STORIES, CAROUSEL of item containers) with
status_code, media_publish and content_publishing_limit.

Every request is held to the Graph node specs (tests/contracts/meta-graph/: the edge exists on the node type of
the id in the path, parameter names and types, required parameters, `fields` the node has), to the documented
token and upload endpoints, and to the permissions the docs name for each call (granted at consent).
"""

from __future__ import annotations

import json
import re

from publishing_fakes.base import Fake

V = r"/v\d+\.\d+"


class MetaFake(Fake):
    name = "meta"
    host = "graph.test"
    version = "v25.0"

    def setup(self):
        self.app_id = "5550001"
        self.client_id = self.app_id
        self.page = {"id": "9001", "name": "Screndly Page"}
        self.ig = {"id": "1784", "username": "screndly"}
        self.pages = [self.page, {"id": "9002", "name": "Screndly Trailers"}]
        self.ig_by_page = {"9001": self.ig, "9002": {"id": "1785", "username": "screndly_trailers"}}
        self.page_tokens: dict[str, str] = {}  # token -> page id
        self.user_of_token: dict[str, str] = {}
        self.nodes: dict[str, str] = {"me": "User", self.app_id: "Application"}
        for p in self.pages:
            self.nodes[p["id"]] = "Page"
        for ig in self.ig_by_page.values():
            self.nodes[ig["id"]] = "IGUser"
        self.containers: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}
        self.handles: dict[str, dict] = {}
        self.quota_total, self.quota_used = 50, 0
        self.video_polls_needed = 1
        self.route("GET", V + r"/oauth/access_token", "token", self._token)
        self.route("POST", V + r"/oauth/access_token", "token", self._token)  # Graph takes params as a form
        self.route("GET", V + r"/me/accounts", "accounts", self._accounts)
        self.route("GET", V + r"/me/permissions", "permissions", self._permissions)
        self.route("POST", V + r"/(?P<app>\d+)/uploads", "upload_start", self._upload_start)
        self.route("POST", V + r"/upload:(?P<sid>[\w-]+)", "upload", self._upload)
        self.route("GET", V + r"/upload:(?P<sid>[\w-]+)", "upload_status", self._upload_status)
        self.route("POST", V + r"/(?P<page>\d+)/feed", "feed", self._feed)
        self.route("POST", V + r"/(?P<page>\d+)/photos", "photos", self._photos)
        self.route("POST", V + r"/(?P<page>\d+)/videos", "videos", self._videos)
        self.route("POST", V + r"/(?P<page>\d+)/photo_stories", "photo_stories", self._story)
        self.route("GET", V + r"/(?P<page>\d+)/published_posts", "published_posts", self._published)
        self.route("GET", V + r"/(?P<page>\d+)/videos", "list_videos", self._list_videos)
        self.route("GET", V + r"/(?P<ig>\d+)/content_publishing_limit", "limit", self._limit)
        self.route("POST", V + r"/(?P<ig>\d+)/media", "container", self._container)
        self.route("GET", V + r"/(?P<ig>\d+)/media", "list_media", self._list_media)
        self.route("POST", V + r"/(?P<ig>\d+)/media_publish", "publish", self._publish)
        self.route("GET", V + r"/(?P<obj>\d+)", "object", self._object)

    # --- ids: numeric, and each has a node type the validator reads the spec of -----------------------
    def new_id(self, node: str) -> str:
        nid = str(self.next_id())
        self.nodes[nid] = node
        return nid

    @property
    def page_token(self) -> str | None:
        """The Page token of the first Page (tests that inspect tokens)."""
        return next((t for t, p in self.page_tokens.items() if p == self.page["id"]), None)

    def page_token_for(self, page_id: str, scopes) -> str:
        """A Page token carrying the permissions the user granted (Page tokens inherit them)."""
        with self.lock:
            token = f"meta-page-{page_id}-{self.next_id()}"
            self.tokens.add(token)
            self.grants[token] = frozenset(scopes)
            self.page_tokens[token] = page_id
        return token

    # --- the description ------------------------------------------------------------------------------------
    def contract(self, request, route):
        from contracts import documented, validate

        path = request.url.path
        granted = self.granted(request)
        if route == "token":
            return validate.documented(documented.META_TOKEN, request)
        if route == "upload_start":
            return validate.documented(documented.META_UPLOAD_START, request) + validate.meta_graph(
                request, "Application", "uploads")
        if route == "upload":
            return validate.documented(documented.META_UPLOAD_TRANSFER, request)
        if route == "upload_status":
            return validate.documented(documented.META_UPLOAD_STATUS, request)
        m = re.fullmatch(V + r"/(?P<id>\w+)(?:/(?P<edge>\w+))?", path)
        node = self.nodes.get(m.group("id"), "unknown") if m else "unknown"
        edge = m.group("edge") if m else None
        broken = []
        if route == "videos" and not self._on_video_host(request):
            broken.append("https://developers.facebook.com/docs/video-api/guides/publishing: videos are published "
                          "with POST https://graph-video.facebook.com/<version>/<PAGE_ID>/videos")
        perms, doc = documented.META_PERMISSIONS.get((request.method, node, edge), (set(), ""))
        out = validate.meta_graph(request, node, edge, granted, perms)
        return broken + [f"{b} ({doc})" if doc and "scopes:" in b else b for b in out]

    @staticmethod
    def _on_video_host(request) -> bool:
        """Videos are published on graph-video, wherever the test serves the two hosts (respx or sockets)."""
        import os
        from urllib.parse import urlparse

        video = urlparse(os.environ.get("META_GRAPH_VIDEO_BASE", "https://graph-video.test")).netloc
        graph = urlparse(os.environ.get("META_GRAPH_BASE", "https://graph.test")).netloc
        return video == graph or request.url.netloc.decode() == video

    def authorize_contract(self, query):
        from contracts import documented

        return documented.authorize("meta", query)

    def invalid_request(self, request, broken):
        return self.json({"error": {"message": "(#100) " + "; ".join(broken), "type": "OAuthException",
                                    "code": 100}}, 400)

    def scope_refusal(self, request, broken):
        # https://developers.facebook.com/docs/graph-api/guides/error-handling : code 200, permissions error
        return self.json({"error": {"message": "(#200) The user hasn't authorized the application to perform this "
                                               "action: " + "; ".join(broken), "type": "OAuthException",
                                    "code": 200}}, 403)

    # --- auth -------------------------------------------------------------------------------------------------
    def _token(self, request):
        q = {**self.query(request), **(self.form(request) if request.method == "POST" else {})}
        if q.get("client_id") != self.client_id or q.get("client_secret") != self.client_secret:
            return self.json({"error": {"message": "Error validating client secret", "code": 1}}, 400)
        if q.get("grant_type") == "fb_exchange_token":
            short = q.get("fb_exchange_token")
            if short not in self.tokens:
                return self.json({"error": {"message": "Invalid OAuth access token", "code": 190}}, 400)
            return self.json(self.issue_tokens("owner", expires_in=60 * 86400, refresh=False,
                                               scopes=self.grants.get(short, ())))
        entry = self.redeem(q.get("code"), q.get("redirect_uri"), None, pkce=False)
        if entry is None:
            return self.json({"error": {"message": "Invalid verification code format.", "code": 100}}, 400)
        return self.json(self.issue_tokens(entry["account"], expires_in=3600, refresh=False, scopes=entry["scopes"]))

    def _accounts(self, request):
        if not self.authed(request):
            return self.unauthorized()
        user_token = request.headers["authorization"][7:]
        scopes = self.grants.get(user_token, frozenset())
        data = []
        for p in self.pages:
            token = self.page_token_for(p["id"], scopes)
            entry = {**p, "access_token": token}
            ig = self.ig_by_page.get(p["id"])
            if ig:
                entry["instagram_business_account"] = ig
            data.append(entry)
        return self.json({"data": data, "paging": {"cursors": {"before": "MA", "after": "MQ"}}})

    def _permissions(self, request):
        """https://developers.facebook.com/docs/graph-api/reference/user/permissions/: each permission the app
        asked for, `granted` or `declined` on the consent dialog."""
        if not self.authed(request):
            return self.unauthorized()
        granted = self.grants.get(request.headers["authorization"][7:], frozenset())
        data = [{"permission": p, "status": "granted"} for p in sorted(granted)]
        data += [{"permission": p, "status": "declined"} for p in sorted(self.declining - granted)]
        return self.json({"data": data})

    def _not_page_token(self, request, page):
        """Publishing as a Page needs that Page's access token (https://developers.facebook.com/docs/pages-api/
        getting-started#page-access-tokens)."""
        tok = (request.headers.get("authorization") or "")[7:]
        if self.page_tokens.get(tok) == page:
            return None
        return self.json({"error": {"message": "(#200) This endpoint requires a Page access token of this Page",
                                    "type": "OAuthException", "code": 200}}, 403)

    # --- Resumable Upload API (https://developers.facebook.com/docs/graph-api/guides/upload) -------------------
    def _upload_start(self, request, app):
        if not self.authed(request) or request.headers["authorization"][7:] in self.page_tokens:
            return self.json({"error": {"message": "a User access token is required", "code": 190}}, 400)
        q = {**self.query(request), **self.form(request)}
        sid = f"{self.next_id()}"
        with self.lock:
            self.uploads[sid] = {"length": int(q["file_length"]), "type": q["file_type"], "data": bytearray()}
        return self.json({"id": f"upload:{sid}"})

    def _upload(self, request, sid):
        token = request.headers.get("authorization", "")[6:]
        if token not in self.tokens or token in self.page_tokens:
            return self.json({"error": {"message": "Invalid OAuth access token", "code": 190}}, 401)
        with self.lock:
            u = self.uploads.get(sid)
            if u is None:
                return self.json({"error": {"message": "upload session not found", "code": 100}}, 400)
            offset = int(request.headers["file_offset"])
            if offset != len(u["data"]):
                return self.json({"error": {"message": f"file_offset {offset} does not match the {len(u['data'])} "
                                                       f"bytes received", "code": 1363037}}, 400)
            u["data"].extend(request.content)
            u["requests"] = u.get("requests", 0) + 1
            if len(u["data"]) < u["length"]:
                return self.json({"error": {"message": "upload incomplete", "code": 1363030}}, 400)
            handle = f"4:{sid}:{self.next_id()}"
            self.handles[handle] = {"sid": sid, "bytes": len(u["data"])}
        return self.json({"h": handle})

    def _upload_status(self, request, sid):
        with self.lock:
            u = self.uploads.get(sid)
            if u is None:
                return self.json({"error": {"message": "upload session not found", "code": 100}}, 400)
            return self.json({"id": f"upload:{sid}", "file_offset": len(u["data"])})

    # --- Facebook Page ---------------------------------------------------------------------------------
    def _params(self, request):
        return {**self.query(request), **self.form(request)}

    def _feed(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        if (refused := self._not_page_token(request, page)) is not None:
            return refused
        f = self._params(request)
        if not f.get("message") and not f.get("link") and "attached_media[0]" not in f:
            return self.json({"error": {"message": "(#100) Missing message or attachment", "code": 100}}, 400)
        attached = [json.loads(v)["media_fbid"] for k, v in sorted(f.items()) if k.startswith("attached_media")]
        with self.lock:
            bad = [a for a in attached if self.nodes.get(a) != "Photo"]
        if bad:
            return self.json({"error": {"message": f"(#100) unknown media_fbid {bad}", "code": 100}}, 400)
        post = self.record_post(kind="feed", text=f.get("message"), link=f.get("link"), attached=attached,
                                page=page, pid=f"{page}_{self.next_id()}")
        self.nodes[post["pid"]] = "PagePost"
        return self.json({"id": post["pid"]})

    def _photos(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        if (refused := self._not_page_token(request, page)) is not None:
            return refused
        f = self._params(request)
        pid = self.new_id("Photo")
        if f.get("published") == "false":
            with self.lock:
                self.calls.append(("unpublished_photo", {"id": pid}))
            return self.json({"id": pid})
        post = self.record_post(kind="photo", text=f.get("message") or f.get("caption"), url=f.get("url"), page=page,
                                pid=f"{page}_{pid}")
        return self.json({"id": pid, "post_id": post["pid"]})

    def _videos(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        if (refused := self._not_page_token(request, page)) is not None:
            return refused
        f = self._params(request)
        handle = f.get("fbuploader_video_file_chunk")
        with self.lock:
            h = self.handles.pop(handle, None) if handle else None
        if h is None:
            return self.json({"error": {"message": "(#100) a video file handle (fbuploader_video_file_chunk) from "
                                                   "the Resumable Upload API is required", "code": 100}}, 400)
        vid = self.new_id("AdVideo")
        post = self.record_post(kind="video", text=f.get("description"), title=f.get("title"), page=page,
                                bytes=h["bytes"], id=vid)
        return self.json({"id": str(post["id"])})

    def _story(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        if (refused := self._not_page_token(request, page)) is not None:
            return refused
        f = self._params(request)
        post = self.record_post(kind="story", photo_id=f.get("photo_id"), page=page)
        return self.json({"success": True, "post_id": str(post["id"])})

    def _published(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            rows = [p for p in reversed(self.posts) if p.get("page") == page and p["kind"] in ("feed", "photo")]
            rows = self.in_window(request, rows, "since", "until")
        pg = self.paginate(request, rows, "limit")
        return self.json({"data": [{"id": p["pid"], "message": p.get("text")} for p in pg["chunk"]], **pg["extra"]})

    def _list_videos(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            rows = [p for p in reversed(self.posts) if p.get("page") == page and p["kind"] == "video"]
            rows = self.in_window(request, rows, "since", "until")
        pg = self.paginate(request, rows, "limit")
        return self.json({"data": [{"id": str(p["id"]), "description": p.get("text")} for p in pg["chunk"]],
                          **pg["extra"]})

    # --- Instagram ---------------------------------------------------------------------------------------------
    def _limit(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        return self.json({"data": [{"quota_usage": self.quota_used,
                                    "config": {"quota_total": self.quota_total, "quota_duration": 86400}}]})

    def _container(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        f = self._params(request)
        mt = f.get("media_type", "IMAGE")
        if mt == "CAROUSEL":
            kids = [k for k in f.get("children", "").split(",") if k]
            with self.lock:
                ok = 2 <= len(kids) <= 10 and all(self.containers.get(k, {}).get("item") for k in kids)
            if not ok:
                # https://developers.facebook.com/docs/instagram-platform/content-publishing/#carousel-posts
                return self.json({"error": {"message": "A carousel needs 2 to 10 item containers",
                                            "code": 100}}, 400)
        elif not (f.get("image_url") or f.get("video_url")):
            return self.json({"error": {"message": "Only photo or video can be accepted as media type.",
                                        "code": 9004, "error_subcode": 2207052}}, 400)
        cid = self.new_id("ShadowIGMediaBuilder")
        video = bool(f.get("video_url"))
        with self.lock:
            self.containers[cid] = {"ig": ig, "params": f, "polls": 0, "video": video,
                                    "item": f.get("is_carousel_item") == "true",
                                    "status": "IN_PROGRESS" if video else "FINISHED"}
        return self.json({"id": cid})

    def _object(self, request, obj):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            c = self.containers.get(obj)
            if c is not None:
                c["polls"] += 1
                if c["status"] == "IN_PROGRESS" and c["polls"] >= self.video_polls_needed:
                    c["status"] = "FINISHED"
                return self.json({"id": obj, "status_code": c["status"], "status": c["status"]})
            if self.nodes.get(obj) == "IGMedia":
                return self.json({"id": obj, "permalink": f"https://www.instagram.com/p/{obj}/"})
        return self.json({"error": {"message": "Unsupported get request", "code": 100}}, 400)

    def _publish(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        f = self._params(request)
        with self.lock:
            c = self.containers.get(f.get("creation_id"))
            if c is None or c["status"] != "FINISHED" or c["item"]:
                return self.json({"error": {"message": "Media ID is not available", "code": 9007,
                                            "error_subcode": 2207027}}, 400)
            if c["params"].get("media_type") == "CAROUSEL":
                kids = c["params"]["children"].split(",")
                if any(self.containers[k]["status"] != "FINISHED" for k in kids):
                    return self.json({"error": {"message": "Media ID is not available", "code": 9007,
                                                "error_subcode": 2207027}}, 400)
            c["status"] = "PUBLISHED"
            self.quota_used += 1
            post = self.record_post(kind="ig", text=c["params"].get("caption"), ig=ig, container=f["creation_id"],
                                    media_type=c["params"].get("media_type", "IMAGE"),
                                    children=c["params"].get("children", "").split(",") if
                                    c["params"].get("children") else [], pid=self.new_id("IGMedia"))
        return self.json({"id": post["pid"]})

    def _list_media(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            rows = [p for p in reversed(self.posts) if p.get("kind") == "ig"]
        pg = self.paginate(request, rows, "limit")
        return self.json({"data": [{"id": p["pid"], "caption": p.get("text"),
                                    "permalink": f"https://www.instagram.com/p/{p['pid']}/"} for p in pg["chunk"]],
                          **pg["extra"]})
