"""Fake TikTok Content Posting API: OAuth v2 (Login Kit for Web: no PKCE), user info (each field needs its
scope), creator_info, direct post init (FILE_UPLOAD chunk rules, or PULL_FROM_URL from a verified domain only),
the upload URL (ordered Content-Range chunks), status/fetch.

TikTok publishes no machine-readable description: every request is held to the documented parameter lists,
scopes and error codes in tests/contracts/documented.py (doc URL beside each rule). As TikTok does, an app that
has not passed the audit may only post SELF_ONLY (`unaudited_client_can_only_post_to_private_accounts`), and
PULL_FROM_URL from an unverified domain answers `url_ownership_unverified`
(https://developers.tiktok.com/doc/content-posting-api-reference-direct-post#error_codes)."""

from __future__ import annotations

import re

import httpx

from publishing_fakes.base import Fake

MB = 1024 * 1024


# Token lifetimes, "Manage OAuth Access Tokens" (last updated 2026-11-05): access token 2 hours (`expires_in`),
# refresh token 180 days (`refresh_expires_in`), refresh tokens rotated: the one sent stops working once a new one
# is issued (https://developers.tiktok.com/doc/oauth-user-access-token-management,
# https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token). Earlier versions said 24 h and 365 days.
ACCESS_SECONDS = 2 * 3600
REFRESH_SECONDS = 180 * 86400


class TikTokFake(Fake):
    name = "tiktok"
    host = "tiktok.test"
    upload_host = "tiktok-upload.test"

    def setup(self):
        self.user = {"open_id": "tt-open-1", "username": "screndly", "display_name": "Screndly"}
        self.privacy_options = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        self.publishes: dict[str, dict] = {}
        self.fail_reason: str | None = None
        self.audited = False  # the app's audit status on TikTok's side
        self.verified_prefixes: list[str] = []  # URL prefixes verified in the developer portal
        self.max_duration = 600
        self.comment_disabled = False
        self.route("POST", r"/v2/oauth/token/", "token", self._token)
        self.route("GET", r"/v2/user/info/", "user", self._user)
        self.route("POST", r"/v2/post/publish/creator_info/query/", "creator_info", self._creator)
        self.route("POST", r"/v2/post/publish/video/init/", "init", self._init)
        self.route("POST", r"/v2/post/publish/status/fetch/", "status", self._status)
        self.route("PUT", r"/upload/(?P<pid>[\w.-]+)", "upload", self._upload)

    def contract(self, request, route):
        from contracts import documented, validate

        ep = validate.find_endpoint(documented.TIKTOK, request)
        if ep is None:
            return [f"{request.method} {request.url.path} is not a documented TikTok endpoint"]
        granted = self.granted(request, None) if route != "upload" and route != "token" else None
        broken = validate.documented(ep, request, granted)
        if route == "user":
            unknown, lacking = documented.tiktok_user_fields(request, granted)
            broken += [f"{documented.TIKTOK_USER_INFO_DOC}: unknown user field {f!r}" for f in unknown]
            broken += [f"{documented.TIKTOK_USER_INFO_DOC}: field {f!r} scopes: needs "
                       f"{documented.TIKTOK_USER_FIELDS[f]}" for f in lacking]
        return broken

    def authorize_contract(self, query):
        from contracts import documented

        return documented.authorize("tiktok", query)

    def invalid_request(self, request, broken):
        return self._err("invalid_params", "; ".join(broken))

    def scope_refusal(self, request, broken):
        # https://developers.tiktok.com/doc/tiktok-api-v2-error-handling : 401 scope_not_authorized
        return self._err("scope_not_authorized", "The user did not authorize the scope required for completing "
                                                 "this request: " + "; ".join(broken), 401)

    def _ok(self, data):
        return self.json({"data": data, "error": {"code": "ok", "message": "", "log_id": "x"}})

    def _err(self, code, msg, status=None):
        """An error in TikTok's envelope, with the status its documentation gives the code (documented.py)."""
        from contracts.documented import TIKTOK_ERRORS

        documented_status, _doc = TIKTOK_ERRORS[code]
        return self.json({"data": {}, "error": {"code": code, "message": msg, "log_id": "x"}},
                         status or documented_status)

    def _token(self, request):
        f = self.form(request)
        if f.get("client_key") != self.client_id or f.get("client_secret") != self.client_secret:
            return self.json({"error": "invalid_client", "error_description": "client_key invalid"}, 400)
        if f.get("grant_type") == "authorization_code":
            entry = self.redeem(f.get("code"), f.get("redirect_uri"), None, pkce=False)
            if entry is None:
                return self.json({"error": "invalid_grant", "error_description": "Authorization code is invalid"},
                                 400)
            scopes = entry["scopes"]
            t = self.issue_tokens(entry["account"], expires_in=ACCESS_SECONDS, scopes=scopes)
        else:
            with self.lock:
                acct = self.refresh_tokens.pop(f.get("refresh_token"), None)
                scopes = self.refresh_scopes.pop(f.get("refresh_token"), frozenset())
            if acct is None:
                return self.json({"error": "invalid_grant", "error_description": "refresh token invalid"}, 400)
            t = self.issue_tokens(acct, expires_in=ACCESS_SECONDS, scopes=scopes)
        return self.json({**t, "open_id": self.user["open_id"], "refresh_expires_in": REFRESH_SECONDS,
                          "scope": ",".join(sorted(scopes))})

    def _user(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        fields = self.query(request).get("fields", "").split(",")
        return self._ok({"user": {k: v for k, v in {**self.user, "profile_deep_link":
                                                     "https://vm.tiktok.com/screndly"}.items() if k in fields}})

    def _creator(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        with self.lock:
            self.calls.append(("creator_info_ok", {}))
        return self._ok({"creator_username": "screndly", "creator_nickname": "Screndly",
                         "creator_avatar_url": "https://p16.tiktokcdn.test/a.jpg",
                         "privacy_level_options": self.privacy_options, "comment_disabled": self.comment_disabled,
                         "duet_disabled": False, "stitch_disabled": False,
                         "max_video_post_duration_sec": self.max_duration})

    def _init(self, request):
        if not self.authed(request):
            return self._err("access_token_invalid", "The access token is invalid", 401)
        if not any(n == "creator_info_ok" for n, _ in self.calls):
            return self._err("invalid_params", "query creator_info first")
        b = self.body(request)
        si, pi = b.get("source_info") or {}, b.get("post_info") or {}
        if pi.get("privacy_level") not in self.privacy_options:
            return self._err("privacy_level_option_mismatch", "privacy level not allowed")
        if not self.audited and pi.get("privacy_level") != "SELF_ONLY":
            return self._err("unaudited_client_can_only_post_to_private_accounts",
                             "Please review our integration guidelines at https://developers.tiktok.com/doc/"
                             "content-sharing-guidelines/", 403)
        if self.comment_disabled and not pi.get("disable_comment"):
            return self._err("invalid_params", "the creator turned comments off: disable_comment must be true")
        if si.get("source") == "PULL_FROM_URL" and not any(
                (si.get("video_url") or "").startswith(p) for p in self.verified_prefixes):
            return self._err("url_ownership_unverified", "Please verify the ownership of the domain or URL prefix "
                                                          "of video_url", 403)
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
