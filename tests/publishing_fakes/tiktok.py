"""Fake TikTok Content Posting API: OAuth v2 + PKCE, user info, creator_info, direct post init (FILE_UPLOAD
chunk rules checked, or PULL_FROM_URL), the upload URL (ordered Content-Range chunks), status/fetch."""

from __future__ import annotations

import re

import httpx

from publishing_fakes.base import Fake

MB = 1024 * 1024


class TikTokFake(Fake):
    name = "tiktok"
    host = "tiktok.test"
    upload_host = "tiktok-upload.test"

    def setup(self):
        self.user = {"open_id": "tt-open-1", "username": "screndly", "display_name": "Screndly"}
        self.privacy_options = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        self.publishes: dict[str, dict] = {}
        self.fail_reason: str | None = None
        self.route("POST", r"/v2/oauth/token/", "token", self._token)
        self.route("GET", r"/v2/user/info/", "user", self._user)
        self.route("POST", r"/v2/post/publish/creator_info/query/", "creator_info", self._creator)
        self.route("POST", r"/v2/post/publish/video/init/", "init", self._init)
        self.route("POST", r"/v2/post/publish/status/fetch/", "status", self._status)
        self.route("PUT", r"/upload/(?P<pid>[\w.-]+)", "upload", self._upload)

    def _ok(self, data):
        return self.json({"data": data, "error": {"code": "ok", "message": "", "log_id": "x"}})

    def _err(self, code, msg, status=400):
        return self.json({"data": {}, "error": {"code": code, "message": msg, "log_id": "x"}}, status)

    def _token(self, request):
        f = self.form(request)
        if f.get("client_key") != self.client_id or f.get("client_secret") != self.client_secret:
            return self.json({"error": "invalid_client", "error_description": "client_key invalid"}, 400)
        if f.get("grant_type") == "authorization_code":
            entry = self.redeem(f.get("code"), f.get("redirect_uri"), f.get("code_verifier"))
            if entry is None:
                return self.json({"error": "invalid_grant", "error_description": "Authorization code is invalid"},
                                 400)
            t = self.issue_tokens(entry["account"], expires_in=86400)
        else:
            with self.lock:
                acct = self.refresh_tokens.pop(f.get("refresh_token"), None)
            if acct is None:
                return self.json({"error": "invalid_grant", "error_description": "refresh token invalid"}, 400)
            t = self.issue_tokens(acct, expires_in=86400)
        return self.json({**t, "open_id": self.user["open_id"], "refresh_expires_in": 31536000,
                          "scope": "user.info.basic,video.publish"})

    def _user(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        return self._ok({"user": self.user})

    def _creator(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        with self.lock:
            self.calls.append(("creator_info_ok", {}))
        return self._ok({"creator_username": "screndly", "privacy_level_options": self.privacy_options,
                         "comment_disabled": False, "duet_disabled": False, "stitch_disabled": False,
                         "max_video_post_duration_sec": 600})

    def _init(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        if not any(n == "creator_info_ok" for n, _ in self.calls):
            return self._err("invalid_params", "query creator_info first")
        b = self.body(request)
        si, pi = b.get("source_info") or {}, b.get("post_info") or {}
        if pi.get("privacy_level") not in self.privacy_options:
            return self._err("privacy_level_option_mismatch", "privacy level not allowed")
        pid = f"v_pub_{self.next_id()}"
        entry = {"post_info": pi, "source": si.get("source"), "received": 0, "chunks": [], "polls": 0}
        if si.get("source") == "FILE_UPLOAD":
            size, chunk, count = si["video_size"], si["chunk_size"], si["total_chunk_count"]
            valid = (size < 5 * MB and chunk == size and count == 1) or (
                5 * MB <= chunk <= 64 * MB and count == size // chunk and size - chunk * (count - 1) <= 128 * MB
                and count <= 1000)
            if not valid:
                return self._err("invalid_params", f"chunk rules broken: size={size} chunk={chunk} count={count}")
            entry.update(size=size, chunk=chunk, count=count, status="PROCESSING_UPLOAD")
            with self.lock:
                self.publishes[pid] = entry
            return self._ok({"publish_id": pid, "upload_url": f"https://{self.upload_host}/upload/{pid}"})
        if si.get("source") == "PULL_FROM_URL":
            entry.update(status="PROCESSING_DOWNLOAD", url=si.get("video_url"))
            with self.lock:
                self.publishes[pid] = entry
                self.record_post(text=pi.get("title"), publish_id=pid, source="PULL_FROM_URL")
            return self._ok({"publish_id": pid})
        return self._err("invalid_params", "unknown source")

    def _upload(self, request, pid):
        with self.lock:
            e = self.publishes.get(pid)
            if e is None:
                return httpx.Response(404)
            m = re.match(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("content-range", ""))
            start, end, total = int(m.group(1)), int(m.group(2)), int(m.group(3))
            body = request.content
            index = len(e["chunks"])
            expected = e["chunk"] if index < e["count"] - 1 else e["size"] - e["chunk"] * (e["count"] - 1)
            if start != e["received"] or total != e["size"] or len(body) != end - start + 1 or len(body) != expected:
                e["bad"] = True
                return httpx.Response(416)
            e["chunks"].append(len(body))
            e["received"] = end + 1
            if e["received"] == e["size"]:
                e["status"] = "PROCESSING_DOWNLOAD"
                self.record_post(text=e["post_info"].get("title"), publish_id=pid, source="FILE_UPLOAD",
                                 chunks=list(e["chunks"]))
                return httpx.Response(201)
            return httpx.Response(206)

    def _status(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        pid = self.body(request).get("publish_id")
        with self.lock:
            e = self.publishes.get(pid)
            if e is None:
                return self._err("invalid_publish_id", "publish_id not found")
            e["polls"] += 1
            if e["status"] == "PROCESSING_DOWNLOAD" and e["polls"] >= 2:
                e["status"] = "FAILED" if self.fail_reason else "PUBLISH_COMPLETE"
                if not self.fail_reason:
                    e["post_id"] = str(self.next_id())
            data = {"status": e["status"], "uploaded_bytes": e["received"]}
            if e["status"] == "FAILED":
                data["fail_reason"] = self.fail_reason
            if e.get("post_id"):
                data["publicaly_available_post_id"] = [int(e["post_id"])]
            return self._ok(data)
