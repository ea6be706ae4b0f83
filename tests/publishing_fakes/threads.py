"""Fake Threads API: OAuth (no PKCE) with long-lived exchange and refresh, containers (TEXT/IMAGE/VIDEO/
CAROUSEL) with status, threads_publish (a container publishes once), listing.

Threads publishes no machine-readable description: requests are held to the documented parameters and
permissions in tests/contracts/documented.py (doc URL beside each rule); ids are numeric as on Threads."""

from __future__ import annotations

from publishing_fakes.base import Fake


class ThreadsFake(Fake):
    name = "threads"
    host = "threads.test"

    def setup(self):
        self.user = {"id": "777", "username": "screndly"}
        self.containers: dict[str, dict] = {}
        self.video_polls_needed = 2
        self.route("POST", r"/oauth/access_token", "token", self._token)
        self.route("GET", r"/access_token", "exchange", self._exchange)
        self.route("GET", r"/refresh_access_token", "refresh", self._refresh)
        self.route("GET", r"/v1\.0/me", "me", self._me)
        self.route("POST", r"/v1\.0/(?P<uid>\d+)/threads", "container", self._container)
        self.route("GET", r"/v1\.0/(?P<uid>\d+)/threads", "listing", self._listing)
        self.route("POST", r"/v1\.0/(?P<uid>\d+)/threads_publish", "publish", self._publish)
        self.route("GET", r"/v1\.0/(?P<obj>\d+)", "object", self._object)
        self.post_ids: set[str] = set()

    def contract(self, request, route):
        from contracts import documented, validate

        ep = validate.find_endpoint(documented.THREADS, request)
        if ep is None:
            return [f"{request.method} {request.url.path} is not a documented Threads endpoint"]
        granted = None if route in ("token", "exchange", "refresh") else self.granted(request)
        return validate.documented(ep, request, granted)

    def authorize_contract(self, query):
        from contracts import documented

        return documented.authorize("threads", query)

    def _graph_error(self, kind, message, **extra):
        from contracts.documented import THREADS_ERRORS

        status, code, _doc = THREADS_ERRORS[kind]
        return self.json({"error": {"message": message, "type": "THApiException", "code": code, **extra}}, status)

    def invalid_request(self, request, broken):
        return self._graph_error("invalid_parameter", "Invalid parameter: " + "; ".join(broken))

    def scope_refusal(self, request, broken):
        return self._graph_error("permission", "(#10) Application does not have permission for this action: "
                                 + "; ".join(broken))

    def _token(self, request):
        f = self.form(request)
        if f.get("client_id") != self.client_id or f.get("client_secret") != self.client_secret:
            return self.json({"error": {"message": "invalid client", "code": 101}}, 400)
        entry = self.redeem(f.get("code"), f.get("redirect_uri"), None, pkce=False)
        if entry is None:
            return self.json({"error": {"message": "Invalid authorization code", "code": 100}}, 400)
        return self.json({**self.issue_tokens("owner", expires_in=3600, refresh=False, scopes=entry["scopes"]),
                          "user_id": self.user["id"]})

    def _exchange(self, request):
        q = self.query(request)
        if q.get("client_secret") != self.client_secret or q.get("access_token") not in self.tokens:
            return self.json({"error": {"message": "bad exchange", "code": 190}}, 400)
        return self.json(self.issue_tokens("owner", expires_in=60 * 86400, refresh=False,
                                           scopes=self.grants.get(q["access_token"], ())))

    def _refresh(self, request):
        q = self.query(request)
        if q.get("access_token") not in self.tokens:
            return self.json({"error": {"message": "Session has expired", "code": 190}}, 400)
        return self.json(self.issue_tokens("owner", expires_in=60 * 86400, refresh=False,
                                           scopes=self.grants.get(q["access_token"], ())))

    def _me(self, request):
        if not self.authed(request):
            return self.unauthorized()
        return self.json(self.user)

    def _container(self, request, uid):
        if not self.authed(request):
            return self.unauthorized()
        q = self.query(request)
        mt = q.get("media_type")
        if (mt == "IMAGE" and not q.get("image_url")) or (mt == "VIDEO" and not q.get("video_url")):
            return self.json({"error": {"message": "media url missing", "code": 100}}, 400)
        if mt == "CAROUSEL":
            kids = (q.get("children") or "").split(",")
            if not 2 <= len(kids) <= 20 or any(self.containers.get(k, {}).get("item") is not True for k in kids):
                return self.json({"error": {"message": "bad carousel children", "code": 100}}, 400)
        cid = str(self.next_id())
        with self.lock:
            self.containers[cid] = {"params": q, "polls": 0, "item": q.get("is_carousel_item") == "true",
                                    "status": "IN_PROGRESS" if mt == "VIDEO" else "FINISHED"}
        return self.json({"id": cid})

    def _object(self, request, obj):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            if obj in self.post_ids:
                return self.json({"id": obj, "permalink": f"https://www.threads.net/@screndly/post/{obj}"})
            c = self.containers.get(obj)
            if c is None:
                return self.json({"error": {"message": "not found", "code": 100}}, 400)
            c["polls"] += 1
            if c["status"] == "IN_PROGRESS" and c["polls"] >= self.video_polls_needed:
                c["status"] = "FINISHED"
            return self.json({"id": obj, "status": c["status"]})

    def _publish(self, request, uid):
        if not self.authed(request):
            return self.unauthorized()
        q = self.query(request)
        with self.lock:
            c = self.containers.get(q.get("creation_id"))
            if c is None or c["status"] != "FINISHED" or c["item"]:
                return self._graph_error("not_ready", "container not ready or already published",
                                         error_subcode=4279009)
            c["status"] = "PUBLISHED"
            post = self.record_post(text=c["params"].get("text"), media_type=c["params"].get("media_type"),
                                    container=q["creation_id"], pid=str(self.next_id()))
            self.post_ids.add(post["pid"])
        return self.json({"id": post["pid"]})

    def _listing(self, request, uid):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            rows = self.in_window(request, list(reversed(self.posts)), "since", "until")
            pg = self.paginate(request, rows, "limit")
        return self.json({"data": [{"id": p["pid"], "text": p.get("text"),
                                    "permalink": f"https://www.threads.net/@screndly/post/{p['pid']}"}
                                   for p in pg["chunk"]], **pg["extra"]})
