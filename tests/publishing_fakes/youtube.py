"""Fake YouTube Data API v3 + Google OAuth: PKCE token exchange and refresh, channels?mine, the resumable
upload protocol (session URI, Content-Range chunks that must start where the server's Range ends, 308 with
Range, status query with `bytes */total`), thumbnails.set, playlistItems.insert, playlists.list.

Every request is held to the YouTube Data API discovery document (tests/contracts/youtube-v3-discovery.subset.json:
method, path, parameters and their types, the request body schema, media types, and the method's OAuth scopes
against those granted at consent); the session URI and the token endpoint to their documentation pages."""

from __future__ import annotations

import re

import httpx

from publishing_fakes.base import Fake


class YouTubeFake(Fake):
    name = "youtube"
    host = "yt.test"
    token_host = "oauth.yt.test"

    def setup(self):
        self.sessions: dict[str, dict] = {}
        self.videos: dict[str, dict] = {}
        self.playlists = [{"id": "PL1", "snippet": {"title": "Trailers"}, "contentDetails": {"itemCount": 3},
                           "status": {"privacyStatus": "public"}}]
        self.playlist_items: list[tuple[str, str]] = []
        self.thumbnails: dict[str, int] = {}
        self.interrupt_after: dict[int, int] = {}  # chunk number -> bytes kept before the connection drops
        self.route("POST", r"/token", "token", self._token)
        self.route("GET", r"/youtube/v3/channels", "channels", self._channels)
        self.route("POST", r"/upload/youtube/v3/videos", "start", self._start)
        self.route("PUT", r"/upload/session/(?P<sid>\w+)", "chunk", self._chunk)
        self.route("POST", r"/upload/youtube/v3/thumbnails/set", "thumbnail", self._thumb)
        self.route("POST", r"/youtube/v3/playlistItems", "playlist_insert", self._pl_insert)
        self.route("GET", r"/youtube/v3/playlists", "playlists", self._playlists)

    def contract(self, request, route):
        from contracts import documented, validate

        if route == "token":
            return validate.documented(documented.GOOGLE_TOKEN, request)
        if route == "chunk":
            return validate.documented(documented.YT_SESSION, request)
        return validate.discovery(request, self.granted(request))

    def authorize_contract(self, query):
        from contracts import documented

        return documented.authorize("youtube", query)

    def invalid_request(self, request, broken):
        return self._err(400, "badRequest", "; ".join(broken))

    def scope_refusal(self, request, broken):
        return self._err(403, "insufficientPermissions", "Request had insufficient authentication scopes: "
                         + "; ".join(broken))

    def _token(self, request):
        f = self.form(request)
        if f.get("client_id") != self.client_id or f.get("client_secret") != self.client_secret:
            return self.json({"error": "invalid_client"}, 401)
        if f.get("grant_type") == "authorization_code":
            entry = self.redeem(f.get("code"), f.get("redirect_uri"), f.get("code_verifier"))
            if entry is None:
                return self.json({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
            return self.json({**self.issue_tokens(entry["account"], expires_in=3599, scopes=entry["scopes"]),
                              "scope": " ".join(entry["scopes"])})
        with self.lock:
            ok = f.get("refresh_token") in self.refresh_tokens
            scopes = self.refresh_scopes.get(f.get("refresh_token"), frozenset())
        if not ok:
            return self.json({"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                             400)
        t = self.issue_tokens("owner", expires_in=3599, refresh=False, scopes=scopes)  # Google keeps the refresh token
        return self.json(t)

    def _err(self, status, reason, msg):
        return self.json({"error": {"code": status, "message": msg, "errors": [{"reason": reason}]}}, status)

    def _channels(self, request):
        if not self.authed(request):
            return self._err(401, "authError", "Invalid Credentials")
        return self.json({"items": [{"id": "UC123", "snippet": {"title": "Screndly", "customUrl": "@screndly"}}]})

    def _start(self, request):
        if not self.authed(request):
            return self._err(401, "authError", "Invalid Credentials")
        q = self.query(request)
        if q.get("uploadType") != "resumable":
            return self._err(400, "badRequest", "uploadType")
        meta = self.body(request)
        if len(meta["snippet"]["title"]) > 100:
            return self._err(400, "invalidTitle", "The request metadata specifies an invalid video title.")
        sid = f"s{self.next_id()}"
        with self.lock:
            self.sessions[sid] = {"size": int(request.headers["x-upload-content-length"]), "held": 0,
                                  "meta": meta, "chunks": [], "video": None}
        return httpx.Response(200, headers={"location": f"https://{self.host}/upload/session/{sid}"})

    def _chunk(self, request, sid):
        with self.lock:
            s = self.sessions.get(sid)
            if s is None:
                return httpx.Response(404)
            cr = request.headers.get("content-range", "")
            if cr.startswith("bytes */"):
                if s["video"]:
                    return self.json(self.videos[s["video"]], 200)
                hdr = {"range": f"bytes=0-{s['held'] - 1}"} if s["held"] else {}
                return httpx.Response(308, headers=hdr)
            m = re.match(r"bytes (\d+)-(\d+)/(\d+)", cr)
            start, end, total = (int(g) for g in m.groups())
            body = request.content
            if start != s["held"] or total != s["size"] or len(body) != end - start + 1:
                s["bad_offsets"] = s.get("bad_offsets", 0) + 1
                return self._err(400, "badContentRange", f"expected offset {s['held']}, got {start}")
            n = len(s["chunks"])
            keep = self.interrupt_after.pop(n, None)
            s["chunks"].append((start, end))
            if keep is not None:
                s["held"] += keep  # part of the chunk arrived, then the connection dropped
                s["interrupted"] = s.get("interrupted", 0) + 1
                raise httpx.RemoteProtocolError("fake: connection dropped mid-chunk", request=request)
            s["held"] = end + 1
            if s["held"] == s["size"]:
                vid = f"vid{self.next_id()}"
                video = {"id": vid, "snippet": s["meta"]["snippet"], "status": s["meta"]["status"]}
                self.videos[vid] = video
                s["video"] = vid
                self.record_post(text=s["meta"]["snippet"]["title"], video_id=vid, session=sid,
                                 privacy=s["meta"]["status"]["privacyStatus"])
                return self.json(video, 201)
            return httpx.Response(308, headers={"range": f"bytes=0-{s['held'] - 1}"})

    def _thumb(self, request):
        if not self.authed(request):
            return self._err(401, "authError", "Invalid Credentials")
        vid = self.query(request).get("videoId")
        if vid not in self.videos:
            return self._err(404, "videoNotFound", "video not found")
        self.thumbnails[vid] = len(request.content)
        return self.json({"items": [{"default": {"url": "https://i.ytimg.test/x.jpg"}}]})

    def _pl_insert(self, request):
        if not self.authed(request):
            return self._err(401, "authError", "Invalid Credentials")
        sn = self.body(request)["snippet"]
        if sn["playlistId"] not in {p["id"] for p in self.playlists}:
            return self._err(404, "playlistNotFound", "playlist not found")
        with self.lock:
            self.playlist_items.append((sn["playlistId"], sn["resourceId"]["videoId"]))
        return self.json({"id": f"pli{self.next_id()}"})

    def _playlists(self, request):
        if not self.authed(request):
            return self._err(401, "authError", "Invalid Credentials")
        return self.json({"items": self.playlists})
