"""Fake Pinterest API v5: OAuth + PKCE (Basic auth), user_account, boards list/create, pins (image_url or
video_id), media registration + upload + status, board pins listing."""

from __future__ import annotations

import httpx

from publishing_fakes.base import Fake, multipart_fields


class PinterestFake(Fake):
    name = "pinterest"
    host = "pin.test"
    upload_host = "pin-upload.test"

    def setup(self):
        self.boards = [{"id": "b1", "name": "Trailers", "privacy": "PUBLIC", "pin_count": 2}]
        self.media: dict[str, dict] = {}
        self.route("POST", r"/v5/oauth/token", "token", self._token)
        self.route("GET", r"/v5/user_account", "me", self._me)
        self.route("GET", r"/v5/boards", "boards", self._boards)
        self.route("POST", r"/v5/boards", "create_board", self._create_board)
        self.route("GET", r"/v5/boards/(?P<bid>\w+)/pins", "board_pins", self._board_pins)
        self.route("POST", r"/v5/pins", "pin", self._pin)
        self.route("POST", r"/v5/media", "register", self._register)
        self.route("GET", r"/v5/media/(?P<mid>\w+)", "media_status", self._media_status)
        self.route("POST", r"/upload", "upload", self._upload)

    def _err(self, status, code, msg):
        return self.json({"code": code, "message": msg}, status)

    def _token(self, request):
        if not self.basic_ok(request):
            return self._err(401, 2, "Authentication failed")
        f = self.form(request)
        if f.get("grant_type") == "authorization_code":
            entry = self.redeem(f.get("code"), f.get("redirect_uri"), f.get("code_verifier"))
            if entry is None:
                return self._err(400, 1, "Invalid authorization code")
            return self.json({**self.issue_tokens(entry["account"], expires_in=2592000),
                              "refresh_token_expires_in": 31536000, "scope": "boards:read,pins:write"})
        with self.lock:
            acct = self.refresh_tokens.get(f.get("refresh_token"))
        if acct is None:
            return self._err(400, 1, "Invalid refresh token")
        return self.json(self.issue_tokens(acct, expires_in=2592000, refresh=False))

    def _me(self, request):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        return self.json({"username": "screndly", "account_type": "BUSINESS"})

    def _boards(self, request):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        return self.json({"items": self.boards, "bookmark": None})

    def _create_board(self, request):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        b = self.body(request)
        board = {"id": f"b{self.next_id()}", "name": b["name"], "description": b.get("description"),
                 "privacy": b.get("privacy", "PUBLIC"), "pin_count": 0}
        with self.lock:
            self.boards.append(board)
        return self.json(board, 201)

    def _register(self, request):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        mid = f"{self.next_id()}"
        with self.lock:
            self.media[mid] = {"status": "registered", "polls": 0}
        return self.json({"media_id": mid, "media_type": "video", "upload_url": f"https://{self.upload_host}/upload",
                          "upload_parameters": {"key": f"uploads/{mid}", "x-amz-signature": "sig"}}, 201)

    def _upload(self, request):
        fields = multipart_fields(request)
        mid = fields.get("key", "").rpartition("/")[2]
        with self.lock:
            m = self.media.get(mid)
            if m is None or not isinstance(fields.get("file"), bytes):
                return httpx.Response(400)
            m["status"] = "processing"
            m["bytes"] = len(fields["file"])
        return httpx.Response(204)

    def _media_status(self, request, mid):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        with self.lock:
            m = self.media.get(mid)
            if m is None:
                return self._err(404, 3, "not found")
            m["polls"] += 1
            if m["status"] == "processing" and m["polls"] >= 2:
                m["status"] = "succeeded"
            return self.json({"media_id": mid, "status": m["status"]})

    def _pin(self, request):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        b = self.body(request)
        if b.get("board_id") not in {x["id"] for x in self.boards}:
            return self._err(404, 2001, "Board not found.")
        src = b.get("media_source") or {}
        if src.get("source_type") == "video_id" and self.media.get(src.get("media_id"), {}).get("status") != "succeeded":
            return self._err(400, 2004, "media not ready")
        post = self.record_post(text=b.get("title") or b.get("description"), description=b.get("description"),
                                board=b["board_id"], link=b.get("link"), source=src.get("source_type"),
                                pid=f"{self.next_id()}")
        return self.json({"id": post["pid"], "board_id": b["board_id"]}, 201)

    def _board_pins(self, request, bid):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        with self.lock:
            rows = [p for p in reversed(self.posts) if p["board"] == bid][:int(self.query(request).get("page_size", 25))]
        return self.json({"items": [{"id": p["pid"], "title": p["text"], "description": p.get("description")}
                                    for p in rows]})
