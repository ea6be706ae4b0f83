"""Fake Meta Graph API: Facebook Login (+PKCE) and token exchange, /me/accounts, Page posts (feed, photos,
videos, photo stories), Instagram containers (status_code), media_publish and content_publishing_limit."""

from __future__ import annotations

from publishing_fakes.base import Fake


class MetaFake(Fake):
    name = "meta"
    host = "graph.test"
    prefix = "/v21.0"

    def setup(self):
        p = self.prefix
        self.page = {"id": "9001", "name": "Screndly Page"}
        self.ig = {"id": "1784", "username": "screndly"}
        self.page_token = None
        self.containers: dict[str, dict] = {}
        self.quota_total, self.quota_used = 50, 0
        self.video_polls_needed = 1
        self.route("GET", p + r"/oauth/access_token", "token", self._token)
        self.route("POST", p + r"/oauth/access_token", "token", self._token)  # Graph takes params as a form
        self.route("GET", p + r"/me/accounts", "accounts", self._accounts)
        self.route("POST", p + r"/(?P<page>\d+)/feed", "feed", self._feed)
        self.route("POST", p + r"/(?P<page>\d+)/photos", "photos", self._photos)
        self.route("POST", p + r"/(?P<page>\d+)/videos", "videos", self._videos)
        self.route("POST", p + r"/(?P<page>\d+)/photo_stories", "photo_stories", self._story)
        self.route("GET", p + r"/(?P<page>\d+)/published_posts", "published_posts", self._published)
        self.route("GET", p + r"/(?P<page>\d+)/videos", "list_videos", self._list_videos)
        self.route("GET", p + r"/(?P<ig>\d+)/content_publishing_limit", "limit", self._limit)
        self.route("POST", p + r"/(?P<ig>\d+)/media", "container", self._container)
        self.route("GET", p + r"/(?P<ig>\d+)/media", "list_media", self._list_media)
        self.route("POST", p + r"/(?P<ig>\d+)/media_publish", "publish", self._publish)
        self.route("GET", p + r"/(?P<obj>c\d+)", "container_status", self._container_status)
        self.route("GET", p + r"/(?P<obj>p\d+)", "permalink", self._permalink)

    # --- auth ---------------------------------------------------------------------------------
    def _token(self, request):
        q = {**self.query(request), **(self.form(request) if request.method == "POST" else {})}
        if q.get("client_id") != self.client_id or q.get("client_secret") != self.client_secret:
            return self.json({"error": {"message": "Error validating client secret", "code": 1}}, 400)
        if q.get("grant_type") == "fb_exchange_token":
            if q.get("fb_exchange_token") not in self.tokens:
                return self.json({"error": {"message": "Invalid OAuth access token", "code": 190}}, 400)
            return self.json(self.issue_tokens("owner", expires_in=60 * 86400, refresh=False))
        entry = self.redeem(q.get("code"), q.get("redirect_uri"), q.get("code_verifier"))
        if entry is None:
            return self.json({"error": {"message": "Invalid verification code format.", "code": 100}}, 400)
        return self.json(self.issue_tokens(entry["account"], expires_in=3600, refresh=False))

    def _accounts(self, request):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            if self.page_token is None:
                self.page_token = f"meta-page-{self.next_id()}"
                self.tokens.add(self.page_token)
        return self.json({"data": [{**self.page, "access_token": self.page_token,
                                    "instagram_business_account": self.ig}]})

    def _check(self, request):
        f = self.form(request)
        q = self.query(request)
        return {**q, **f}

    # --- Facebook Page ---------------------------------------------------------------------------
    def _feed(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        f = self._check(request)
        if not f.get("message") and not f.get("link") and "attached_media[0]" not in f:
            return self.json({"error": {"message": "(#100) Missing message or attachment", "code": 100}}, 400)
        post = self.record_post(kind="feed", text=f.get("message"), link=f.get("link"),
                                attached=[v for k, v in f.items() if k.startswith("attached_media")],
                                page=page, pid=f"{page}_{self.next_id()}")
        return self.json({"id": post["pid"]})

    def _photos(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        f = self._check(request)
        pid = self.next_id()
        if f.get("published") == "false":
            with self.lock:
                self.calls.append(("unpublished_photo", {"id": pid}))
            return self.json({"id": str(pid)})
        post = self.record_post(kind="photo", text=f.get("caption"), url=f.get("url"), page=page,
                                pid=f"{page}_{pid}")
        return self.json({"id": str(pid), "post_id": post["pid"]})

    def _videos(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        f = self._check(request)
        post = self.record_post(kind="video", text=f.get("description"), file_url=f.get("file_url"), page=page)
        return self.json({"id": str(post["id"])})

    def _story(self, request, page):
        if not self.authed(request):
            return self.unauthorized()
        f = self._check(request)
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

    # --- Instagram -------------------------------------------------------------------------------
    def _limit(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        return self.json({"data": [{"quota_usage": self.quota_used,
                                    "config": {"quota_total": self.quota_total, "quota_duration": 86400}}]})

    def _container(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        f = self._check(request)
        if not (f.get("image_url") or f.get("video_url")):
            return self.json({"error": {"message": "Only photo or video can be accepted as media type.",
                                        "code": 9004, "error_subcode": 2207052}}, 400)
        cid = self.next_id("c")
        video = bool(f.get("video_url"))
        with self.lock:
            self.containers[cid] = {"ig": ig, "params": f, "polls": 0, "video": video,
                                    "status": "IN_PROGRESS" if video else "FINISHED"}
        return self.json({"id": cid})

    def _container_status(self, request, obj):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            c = self.containers.get(obj)
            if c is None:
                return self.json({"error": {"message": "Unsupported get request", "code": 100}}, 400)
            c["polls"] += 1
            if c["status"] == "IN_PROGRESS" and c["polls"] >= self.video_polls_needed:
                c["status"] = "FINISHED"
            return self.json({"id": obj, "status_code": c["status"], "status": c["status"]})

    def _publish(self, request, ig):
        if not self.authed(request):
            return self.unauthorized()
        f = self._check(request)
        with self.lock:
            c = self.containers.get(f.get("creation_id"))
            if c is None or c["status"] != "FINISHED":
                return self.json({"error": {"message": "Media ID is not available", "code": 9007,
                                            "error_subcode": 2207027}}, 400)
            c["status"] = "PUBLISHED"
            self.quota_used += 1
            post = self.record_post(kind="ig", text=c["params"].get("caption"), ig=ig, container=f["creation_id"],
                                    media_type=c["params"].get("media_type", "IMAGE"), pid=self.next_id("p"))
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

    def _permalink(self, request, obj):
        if not self.authed(request):
            return self.unauthorized()
        return self.json({"id": obj, "permalink": f"https://www.instagram.com/p/{obj}/"})
