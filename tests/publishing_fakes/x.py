"""Fake X API v2: OAuth 2 + PKCE token endpoint, /2/users/me, the chunked media upload of the current API
(`POST /2/media/upload/initialize` JSON, `/{id}/append` multipart, `/{id}/finalize`, `GET /2/media/upload`
status), /2/tweets. Every request is held to X's OpenAPI (tests/contracts/x-openapi.subset.json) and to the
scopes granted at consent; the token endpoint to its documentation page."""

from __future__ import annotations

import time

from publishing_fakes.base import Fake

MAX_SEGMENT = 5 * 1024 * 1024


class XFake(Fake):
    name = "x"
    host = "x.test"

    def setup(self):
        self.reject_duplicates = True  # X's own duplicate-content 403; off when counting our duplicates
        self.media: dict[str, dict] = {}
        self.user = {"id": "42", "username": "screndly"}
        self.route("POST", r"/2/oauth2/token", "token", self._token)
        self.route("GET", r"/2/users/me", "me", self._me)
        # one fault name ("media") for the three upload steps, as before: fail_next("media", ...) hits them in order
        self.route("POST", r"/2/media/upload/initialize", "media", self._initialize)
        self.route("POST", r"/2/media/upload/(?P<mid>\d+)/append", "media", self._append)
        self.route("POST", r"/2/media/upload/(?P<mid>\d+)/finalize", "media", self._finalize)
        self.route("POST", r"/2/media/upload", "media_simple", self._simple_upload)
        self.route("GET", r"/2/media/upload", "status", self._status)
        self.route("POST", r"/2/tweets", "tweet", self._tweet)
        self.route("GET", r"/2/users/(?P<uid>\w+)/tweets", "timeline", self._timeline)

    def contract(self, request, route):
        from contracts import documented, validate

        if route == "token":
            return validate.documented(documented.X_TOKEN, request)
        return validate.openapi("x", request, self.granted(request, None))

    def authorize_contract(self, query):
        from contracts import documented

        return documented.authorize("x", query)

    def invalid_request(self, request, broken):
        return self.json({"errors": [{"message": b} for b in broken], "title": "Invalid Request",
                          "detail": "One or more parameters to your request was invalid.",
                          "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)

    def scope_refusal(self, request, broken):
        return self.json({"title": "Forbidden", "status": 403, "type": "about:blank",
                          "detail": "Your client app is not configured with the appropriate oauth2 app "
                                    "permissions for this endpoint: " + "; ".join(broken)}, 403)

    def _token(self, request):
        if not self.basic_ok(request):
            return self.json({"error": "unauthorized_client"}, 401)
        f = self.form(request)
        if f.get("grant_type") == "authorization_code":
            entry = self.redeem(f.get("code"), f.get("redirect_uri"), f.get("code_verifier"))
            if entry is None:
                return self.json({"error": "invalid_request", "error_description": "Value passed for the "
                                  "authorization code was invalid."}, 400)
            return self.json({**self.issue_tokens(entry["account"], scopes=entry["scopes"]),
                              "scope": " ".join(entry["scopes"])})
        if f.get("grant_type") == "refresh_token":
            with self.lock:
                acct = self.refresh_tokens.pop(f.get("refresh_token"), None)  # X rotates refresh tokens
                scopes = self.refresh_scopes.pop(f.get("refresh_token"), frozenset())
            if acct is None:
                return self.json({"error": "invalid_request", "error_description": "Value passed for the token "
                                  "was invalid."}, 400)
            return self.json(self.issue_tokens(acct, scopes=scopes))
        return self.json({"error": "unsupported_grant_type"}, 400)

    def _me(self, request):
        if not self.authed(request):
            return self.unauthorized()
        return self.json({"data": {**self.user, "name": "Screndly"}})

    def _initialize(self, request):
        if not self.authed(request):
            return self.unauthorized()
        b = self.body(request)
        with self.lock:
            mid = str(self.next_id())
            self.media[mid] = {"total": int(b["total_bytes"]), "type": b["media_type"],
                               "category": b.get("media_category"), "segments": [], "state": "init"}
        return self.json({"data": {"id": mid, "media_key": f"7_{mid}", "expires_after_secs": 86400}})

    def _append(self, request, mid):
        if not self.authed(request):
            return self.unauthorized()
        f = self.form(request)
        with self.lock:
            m = self.media.get(mid)
            if m is None:
                return self.json({"errors": [{"message": "media_id not found"}]}, 400)
            index, chunk = int(f["segment_index"]), f["media"]
            if index != len(m["segments"]) or len(chunk) > MAX_SEGMENT:
                m["bad"] = True
                return self.json({"errors": [{"message": f"bad segment {index}"}]}, 400)
            m["segments"].append(len(chunk))
        return self.json({"data": {"expires_at": int(time.time()) + 86400}})

    def _finalize(self, request, mid):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            m = self.media.get(mid)
            if m is None:
                return self.json({"errors": [{"message": "media_id not found"}]}, 400)
            if m.get("bad") or sum(m["segments"]) != m["total"]:
                return self.json({"errors": [{"message": "segments do not add up to total_bytes"}]}, 400)
            video = m["category"] == "amplify_video"
            m["state"] = "pending" if video else "succeeded"
            body = {"id": mid, "media_key": f"7_{mid}", "size": m["total"]}
            if video:
                body["processing_info"] = {"state": "pending", "check_after_secs": 1}
        return self.json({"data": body})

    def _simple_upload(self, request):
        # the one-shot upload exists, but the adapter never uses it; a request reaching here passed the description
        return self.json({"errors": [{"message": "not used by Screndly"}]}, 400)

    def _status(self, request):
        q = self.query(request)
        with self.lock:
            m = self.media.get(q.get("media_id"))
            if m is None:
                return self.json({"errors": [{"message": "media_id not found"}]}, 400)
            m["polls"] = m.get("polls", 0) + 1
            if m["state"] == "pending":
                m["state"] = "in_progress"
            elif m["state"] == "in_progress":
                m["state"] = "succeeded"
            return self.json({"data": {"id": q["media_id"], "processing_info": {"state": m["state"]}}})

    def _tweet(self, request):
        if not self.authed(request):
            return self.unauthorized()
        b = self.body(request)
        with self.lock:
            for mid in (b.get("media") or {}).get("media_ids", []):
                if self.media.get(mid, {}).get("state") != "succeeded":
                    return self.json({"detail": f"media {mid} is not ready", "title": "Invalid Request"}, 400)
            if self.reject_duplicates and any(p["text"] == b.get("text") for p in self.posts):
                return self.json({"detail": "You are not allowed to create a Tweet with duplicate content.",
                                  "title": "Forbidden", "type": "about:blank", "status": 403}, 403)
            if len(b.get("text") or "") > 2000:
                return self.json({"detail": "text too long", "title": "Invalid Request"}, 400)
            post = self.record_post(text=b.get("text"), media_ids=(b.get("media") or {}).get("media_ids", []))
            # a 100-post window that refills once its reset time has passed (X: 100 / 15 min per user)
            if getattr(self, "window_reset", None) and time.time() >= self.window_reset:
                self.remaining, self.window_reset = 100, None
            self.remaining = getattr(self, "remaining", 100) - 1
            headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": str(max(0, self.remaining))}
            if self.remaining <= 0:
                headers.update(self.rate_headers())
                self.window_reset = time.time() + self.rate_reset_in
        return self.json({"data": {"id": str(post["id"]), "text": post["text"]}}, 201, headers=headers)

    def _timeline(self, request, uid):
        if not self.authed(request):
            return self.unauthorized()
        with self.lock:
            recent = self.in_window(request, list(reversed(self.posts)), "start_time", "end_time", iso=True)
            pg = self.paginate(request, recent, "max_results", style="x")
        return self.json({"data": [{"id": str(p["id"]), "text": p["text"]} for p in pg["chunk"]], **pg["extra"]})
