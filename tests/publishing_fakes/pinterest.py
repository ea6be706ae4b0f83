"""Fake Pinterest API v5: OAuth (Basic auth, no PKCE; refreshes with continuous_refresh), user_account,
boards list/create, pins (image_url or video_id), media registration + upload + status, board pins listing.

Every request is held to Pinterest's v5 OpenAPI (tests/contracts/pinterest-openapi.subset.json) and to the scopes
of each operation's `pinterest_oauth2` requirement against those granted at consent. Token requests may carry only
the documented parameters (the OpenAPI's fields plus the guide's continuous_refresh)."""

from __future__ import annotations

import time

import httpx

from publishing_fakes.base import Fake, multipart_fields

BOARD = "549755813001"  # Pinterest ids are digits (the v5 OpenAPI's board_id pattern ^\\d+$)


class PinterestFake(Fake):
    name = "pinterest"
    host = "pin.test"
    upload_host = "pin-upload.test"

    def setup(self):
        self.boards = [{"id": BOARD, "name": "Trailers", "privacy": "PUBLIC", "pin_count": 2}]
        self.media: dict[str, dict] = {}
        self.route("POST", r"/v5/oauth/token", "token", self._token)
        self.route("GET", r"/v5/user_account", "me", self._me)
        self.route("GET", r"/v5/boards", "boards", self._boards)
        self.route("POST", r"/v5/boards", "create_board", self._create_board)
        self.route("GET", r"/v5/boards/(?P<bid>\d+)/pins", "board_pins", self._board_pins)
        self.route("POST", r"/v5/pins", "pin", self._pin)
        self.route("POST", r"/v5/media", "register", self._register)
        self.route("GET", r"/v5/media/(?P<mid>\w+)", "media_status", self._media_status)
        self.route("POST", r"/upload", "upload", self._upload)

    def contract(self, request, route):
        from contracts import documented, validate

        if route == "upload":
            return _upload_form(request)
        broken = validate.openapi("pinterest", request, None if route == "token" else self.granted(request, None))
        if route == "token":
            broken += [b for b in validate.openapi_form_fields("pinterest", request)
                       if "'continuous_refresh'" not in b]
            broken += documented.pinterest_token_extras(request)
        return broken

    def authorize_contract(self, query):
        from contracts import documented

        return documented.authorize("pinterest", query)

    def invalid_request(self, request, broken):
        return self._err(400, 1, "Invalid request: " + "; ".join(broken))

    def scope_refusal(self, request, broken):
        return self._err(403, 3, "Not authorized to access the resource: " + "; ".join(broken))

    def _err(self, status, code, msg):
        return self.json({"code": code, "message": msg}, status)

    def _token(self, request):
        if not self.basic_ok(request):
            return self._err(401, 2, "Authentication failed")
        f = self.form(request)
        if f.get("grant_type") == "authorization_code":
            entry = self.redeem(f.get("code"), f.get("redirect_uri"), None, pkce=False)
            if entry is None:
                return self._err(400, 1, "Invalid authorization code")
            return self.json({**self.issue_tokens(entry["account"], expires_in=2592000, scopes=entry["scopes"]),
                              "refresh_token_expires_in": 31536000, "scope": ",".join(entry["scopes"])})
        with self.lock:
            old = f.get("refresh_token")
            acct = self.refresh_tokens.get(old)
            scopes = self.refresh_scopes.get(old, frozenset())
        if acct is None:
            return self._err(400, 1, "Invalid refresh token")
        # The answer is the v5 OpenAPI's OauthAccessTokenResponseRefresh: refresh_token, refresh_token_expires_in
        # and refresh_token_expires_at are required, so is scope. A continuous refresh (the contract above makes
        # every refresh one) returns a new refresh token good for 60 more days
        # (https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/).
        tokens = self.issue_tokens(acct, expires_in=2592000, scopes=scopes)
        lives = 60 * 86400
        return self.json({**tokens, "response_type": "refresh_token", "scope": ",".join(sorted(scopes)),
                          "refresh_token_expires_in": lives, "refresh_token_expires_at": int(time.time()) + lives})

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
        board = {"id": f"5497558{self.next_id()}", "name": b["name"], "description": b.get("description"),
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
        media_status = self.media.get(src.get("media_id"), {}).get("status")
        if src.get("source_type") == "video_id" and media_status != "succeeded":
            return self._err(400, 2004, "media not ready")
        post = self.record_post(text=b.get("title") or b.get("description"), description=b.get("description"),
                                board=b["board_id"], link=b.get("link"), source=src.get("source_type"),
                                pid=f"{self.next_id()}")
        return self.json({"id": post["pid"], "board_id": b["board_id"]}, 201)

    def _board_pins(self, request, bid):
        if not self.authed(request):
            return self._err(401, 2, "Authentication failed")
        with self.lock:
            page_size = int(self.query(request).get("page_size", 25))
            rows = [p for p in reversed(self.posts) if p["board"] == bid][:page_size]
        return self.json({"items": [{"id": p["pid"], "title": p["text"], "description": p.get("description")}
                                    for p in rows]})


UPLOAD_DOC = "https://developers.pinterest.com/docs/api-features/creating-boards-and-pins/#uploading-video"


def _upload_form(request) -> list[str]:
    """The upload is a multipart POST of every `upload_parameters` field from POST /v5/media, then the file."""
    from contracts.validate import form_of, media_type

    if media_type(request) != "multipart/form-data":
        return [f"{UPLOAD_DOC}: the video goes up as multipart/form-data"]
    fields = form_of(request)
    names = [k for k, _ in fields]
    out = []
    if not names or names[-1] != "file":
        out.append(f"{UPLOAD_DOC}: the file part comes last, after the upload_parameters")
    if "key" not in names:
        out.append(f"{UPLOAD_DOC}: upload_parameters (key, policy, signature ...) are missing")
    return out
