"""A walk through every endpoint of the frontend contract (frontend-contract.md §1) that the backend implements,
called as the SPA calls it (its bodies, its query strings, its multipart field names) against the real app, real
Postgres and Redis, moto's S3, and local stand-ins where the outside world is involved (feed server, TMDb fake,
YouTube stand-in, platform fakes). Each answer is held to two things:

- the shape the frontend reads (field names and types from the contract's tables and type definitions:
  tests/contracts/frontend.py): 0 differences in every group;
- what our own /openapi.json declares for that operation, with every object closed (`additionalProperties:
  false`): every field an answer carries is documented, and every documented type is the one sent.

Where the backend deliberately differs from the contract, the walk asserts the documented behaviour and checks
that the named document says so. The contract's endpoints that are not built are listed in
docs/architecture/foundation.md ("Contract endpoints not implemented"); a last test holds the contract's own
endpoint table to the union of the two.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
from contracts import frontend as C
from media_support import clean_bucket  # noqa: F401  (fixture)
from openapi_answers import AnswerChecker, segments, served_routes
from publishing_fakes.world import world  # noqa: F401  (fixture)
from rss_fakes import png_bytes
from rss_helpers import set_settings

ROOT = Path(__file__).resolve().parents[1]
REDIRECT = "http://localhost:5173/platforms/callback"  # what the SPA sends: `${origin}/platforms/callback`
SPA_HEADERS = {"Content-Type": "application/json", "X-Screndly-Version": "1.0.1"}  # §0: every apiClient request

# the endpoints each group walks, as the contract names them (`:id` written `{id}`)
GROUPS: dict[str, list[tuple[str, str]]] = {
    "auth and system": [("POST", "/api/auth/login"), ("POST", "/api/auth/verify"), ("GET", "/health")],
    "settings": [("GET", "/api/settings"), ("PUT", "/api/settings"), ("DELETE", "/api/settings")],
    "platforms": [("GET", "/api/platforms/status"), ("GET", "/api/platforms/auth/{platform}"),
                  ("POST", "/api/platforms/callback"), ("DELETE", "/api/platforms/{platform}"),
                  ("GET", "/api/platforms/youtube/playlists"), ("POST", "/api/platforms/post"),
                  ("GET", "/api/pinterest/boards"), ("POST", "/api/pinterest/boards")],
    "rss": [("POST", "/api/rss/preview"), ("POST", "/api/rss/feeds"), ("GET", "/api/rss/feeds"),
            ("PUT", "/api/rss/feeds/{id}"), ("POST", "/api/rss/feeds/reorder"),
            ("POST", "/api/rss/feeds/{id}/refresh"),
            ("POST", "/api/rss/refresh"), ("GET", "/api/rss/feeds/{id}/preview"), ("GET", "/api/rss/activity"),
            ("POST", "/api/rss/activity/{id}/retry"), ("DELETE", "/api/rss/activity/{id}"),
            ("DELETE", "/api/rss/feeds/{id}")],
    "tmdb": [("POST", "/api/tmdb/refresh"), ("GET", "/api/tmdb/posts"), ("PUT", "/api/tmdb/posts/{id}"),
             ("DELETE", "/api/tmdb/posts/{id}"), ("POST", "/api/tmdb/posts"), ("GET", "/api/tmdb/search"),
             ("GET", "/api/tmdb/images/{mediaType}/{tmdbId}")],
    "channels": [("POST", "/api/channels"), ("GET", "/api/channels"), ("PATCH", "/api/channels/{id}"),
                 ("GET", "/api/channels/activity"), ("DELETE", "/api/channels/{id}")],
    "comments automation": [("GET", "/api/comments/automation/stats"),
                            ("GET", "/api/comments/automation/readiness")],
    "notifications and logs": [("POST", "/api/notifications"), ("GET", "/api/notifications"),
                               ("PUT", "/api/notifications/{id}"), ("POST", "/api/notifications/mark-all-read"),
                               ("DELETE", "/api/notifications/{id}"), ("DELETE", "/api/notifications"),
                               ("GET", "/api/logs")],
    "jobs": [("POST", "/api/jobs"), ("GET", "/api/jobs")],
    "dashboard": [("GET", "/api/dashboard/stats"), ("GET", "/api/dashboard/system-stats"),
                  ("GET", "/api/automation/status")],
    "ai captions": [("POST", "/api/ai/generate/rss-caption"), ("POST", "/api/ai/generate/tmdb-caption")],
    "storage": [("POST", "/api/create/upload-asset"), ("POST", "/api/video-studio/upload-asset"),
                ("POST", "/api/design-studio/upload-asset"), ("GET", "/api/video-studio/backblaze/videos"),
                ("GET", "/api/video-studio/backblaze/subtitles"),
                ("GET", "/api/design-studio/backblaze/templates")],
    "create": [("GET", "/api/create/state"), ("PUT", "/api/create/state"),
               ("POST", "/api/ai/generate/compose-metadata"), ("POST", "/api/ai/generate/compose-content"),
               ("POST", "/api/ai/generate/compose-thumbnail")],
}
# rows of the table the real app does not call (Src D) that the backend serves anyway
DESIGN_ONLY_SERVED = [("GET", "/api/automation/status")]
NOT_IMPLEMENTED_DOC = ROOT / "docs" / "architecture" / "foundation.md"
NOT_IMPLEMENTED_HEADING = "## Contract endpoints not implemented"


# --- the walker ---------------------------------------------------------------------------------------------------
def documented(doc: str, phrase: str) -> str:
    """The named document really says it (so the exemption cannot outlive the decision)."""
    text = re.sub(r"\s+", " ", (ROOT / doc).read_text())
    assert phrase in text, f"{doc} does not say {phrase!r}"
    return doc


class Walk:
    def __init__(self, app, client, auth, group: str):
        self.client, self.auth, self.group = client, auth, group
        self.answers = AnswerChecker(app.openapi())
        self.called: list[tuple[str, str]] = []
        self.problems: list[str] = []

    def call(self, method: str, contract_path: str, shape=None, *, status: int = 200, params=None, json_body=None,
             files=None, data=None, auth: bool = True, envelope: bool = True, **path_params):
        """Call the endpoint as the SPA does and return `data` (or the whole body when `envelope` is False)."""
        url = contract_path
        for k, v in path_params.items():
            url = url.replace("{" + k + "}", str(v))
        headers = {**(self.auth if auth else {}), **({} if files else SPA_HEADERS)}
        kwargs = {"headers": headers, "params": params}
        if files is not None:
            kwargs.update(files=files, data=data)
        elif json_body is not None:
            kwargs["content"] = json.dumps(json_body)
        r = self.client.request(method, url, **kwargs)
        self.called.append((method, contract_path))
        where = f"{method} {contract_path}"
        # the next steps build on this answer: a wrong status or a missing envelope stops the walk here
        assert r.status_code == status, f"{where}: status {r.status_code}, expected {status}: {r.text[:300]}"
        body = r.json()
        self.problems += [f"{where}: {p}" for p in self.answers.problems(method, contract_path, r.status_code, body)]
        if envelope:
            assert body.get("success") is True and "data" in body, f"{where}: not a {{success, data}} envelope"
            value = body["data"]
        else:
            value = body
        if shape is not None:
            self.problems += [f"{where}: {d}" for d in C.differences(value, shape)]
        return value

    def beyond(self, method: str, path: str, status: int = 200, **kwargs):
        """A route beyond the contract used to reach a state (approve, ...): its answer is still held to
        /openapi.json."""
        r = self.client.request(method, path, headers=self.auth, **kwargs)
        template = re.sub(r"/[0-9a-f-]{36}(?=/|$)", "/{id}", path)
        assert r.status_code == status, f"{method} {path}: status {r.status_code}: {r.text[:300]}"
        self.problems += [f"{method} {template}: {p}" for p in self.answers.problems(method, template, status,
                                                                                       r.json())]
        return r.json().get("data")

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.problems.append(f"{self.group}: {what}")

    def finish(self) -> None:
        expected = GROUPS[self.group]
        missing = [e for e in expected if e not in self.called]
        extra = sorted({c for c in self.called if c not in expected})
        assert not missing and not extra, f"walked {self.called}; missing {missing}; not in GROUPS {extra}"
        assert self.problems == [], f"{len(self.problems)} differences in {self.group}:\n  " + "\n  ".join(
            self.problems)


@pytest.fixture
def walker(app, client, auth, clean_state):
    return lambda group: Walk(app, client, auth, group)


# --- §1.1 auth and system ---------------------------------------------------------------------------------------
def test_auth_and_system(walker):
    from conftest import TEST_PASSWORD

    w = walker("auth and system")
    ok = w.call("POST", "/api/auth/login", C.LOGIN_OK, json_body={"password": TEST_PASSWORD}, auth=False,
                envelope=False)
    w.check(ok is not None and "data" not in ok, "login keeps its token at the top level, not in data")
    verified = w.call("POST", "/api/auth/verify", None, json_body={"token": ok["token"]}, auth=False, envelope=False)
    w.problems += [f"verify (top level): {d}" for d in C.differences(verified, C.VERIFY)]
    w.problems += [f"verify (data): {d}" for d in C.differences(verified["data"], C.VERIFY)]
    w.check(verified["valid"] is True, "a fresh token is valid")
    bad = w.call("POST", "/api/auth/login", C.LOGIN_FAILED, status=401, json_body={"password": "not it"},
                 auth=False, envelope=False)
    w.check(bad["remainingAttempts"] >= 0 and bad["success"] is False, "a wrong password says how many are left")
    w.call("GET", "/health", C.HEALTH, auth=False, envelope=False)
    w.finish()


# --- §1.2 settings ------------------------------------------------------------------------------------------------
def test_settings(walker):
    w = walker("settings")
    everything = w.call("GET", "/api/settings", C.MapOf(C.ANY))
    w.check(everything.get("rssPostingInterval") == "10" and everything.get("timezone"),
            "GET returns every key with its default")
    # partial, as the SPA saves: a debounced batch and a sensitive key on its own
    put = w.client.put("/api/settings", headers={**w.auth, **SPA_HEADERS},
                       content=json.dumps({"rssPostingInterval": "15", "quietHoursEnabled": False}))
    w.check(put.status_code == 200 and C.differences(put.json().get("meta"), C.SETTINGS_PUT_META) == [],
            f"PUT meta is {{changedKeys, notificationTitle, notificationMessage}}: {put.text[:300]}")
    w.call("PUT", "/api/settings", C.MapOf(C.ANY), json_body={"openaiKey": "sk-live-abcdefghijklmnop"})
    again = w.call("GET", "/api/settings", C.MapOf(C.ANY))
    w.check(again["rssPostingInterval"] == "15" and C.MASK in again["openaiKey"]
            and again["openaiKey"].startswith("sk-l"), "saved values come back, secrets masked")
    w.call("DELETE", "/api/settings", None)
    w.check(w.call("GET", "/api/settings", C.MapOf(C.ANY))["rssPostingInterval"] == "10", "DELETE resets")
    w.finish()


# --- §1.3 platforms ------------------------------------------------------------------------------------------------
def test_platforms(walker, world):
    w = walker("platforms")
    set_settings(publishMode="live")
    status = w.call("GET", "/api/platforms/status", C.MapOf(C.PLATFORM_STATUS))
    w.check(sorted(status) == sorted(C.PLATFORM_NAMES), f"status is keyed by the contract's names: {sorted(status)}")
    # connect X through the real OAuth flow, as the SPA does (state is a JWT carrying platform and codeVerifier)
    start = w.call("GET", "/api/platforms/auth/{platform}", C.AUTH_URL, params={"redirectUri": REDIRECT},
                   platform="X")
    code, state = world.x.consent(start["url"])
    claims = jwt.decode(state, options={"verify_signature": False})
    w.check(claims.get("platform") == "x" and bool(claims.get("codeVerifier")), "state carries platform+verifier")
    w.call("POST", "/api/platforms/callback", None, json_body={
        "platform": "X", "code": code, "state": state, "codeVerifier": claims["codeVerifier"], "redirectUri": REDIRECT})
    world.connect("youtube", "pinterest")
    status = w.call("GET", "/api/platforms/status", C.MapOf(C.PLATFORM_STATUS))
    w.check(status["X"]["connected"] is True and status["YouTube"]["connected"] is True, "connected after OAuth")
    w.call("GET", "/api/platforms/youtube/playlists", [C.PLAYLIST])
    w.call("GET", "/api/pinterest/boards", [C.BOARD])
    w.call("POST", "/api/pinterest/boards", C.BOARD, json_body={"name": "Trailers", "privacy": "PUBLIC"})
    posted = w.call("POST", "/api/platforms/post", C.PUBLISH, json_body={
        "platforms": ["X", "Threads"], "content": {"text": "Dune: Part Three first look", "link": "https://e.com/d"}})
    w.check(posted["summary"]["total"] == 2, "one result per target")
    # the multipart form: a small image, platforms and content as JSON strings
    sof = b"\xff\xc0\x00\x11\x08" + (1080).to_bytes(2, "big") * 2 + b"\x03" + b"\x00" * 9
    jpeg = b"\xff\xd8" + sof + b"\x00" * 500
    posted = w.call("POST", "/api/platforms/post", C.PUBLISH, files={"mediaFile": ("poster.jpg", jpeg, "image/jpeg")},
                    data={"platforms": '["X"]', "content": '{"text": "Poster drop"}'})
    w.check(posted["results"][0]["status"] == "posted", f"the image went out: {posted['results'][0]}")
    w.call("DELETE", "/api/platforms/{platform}", None, platform="Pinterest")
    w.call("DELETE", "/api/platforms/{platform}", None, platform="Pinterest")  # idempotent (contract: {success})
    w.finish()


# --- §1.4 RSS ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def feeds():
    from shared.local.feed_server import FeedServer

    srv = FeedServer().start()
    srv.route("/img/hero.png", png_bytes(1280, 720), content_type="image/png")
    yield srv
    srv.stop()


def _rss(srv, title: str, items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{srv.url('/a/' + g)}</link><guid isPermaLink=\"false\">{g}</guid>"
        f"<pubDate>Sun, 01 Mar 2026 {10 - i:02d}:00:00 +0000</pubDate>"
        f"<description><![CDATA[<p>About {t}.</p>]]></description>"
        f'<media:content url="{srv.url("/img/hero.png")}" medium="image" width="1280" height="720"/></item>'
        for i, (g, t) in enumerate(items))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
            f"<channel><title>{title}</title><link>https://example.org/</link><description>d</description>"
            f"{body}</channel></rss>")


def test_rss(walker, feeds, db):
    from shared import clock
    from shared.scheduling import dispatch

    w = walker("rss")
    set_settings(publishMode="dry_run", quietHoursEnabled=False)
    url = feeds.route("/walk.xml", _rss(feeds, "Walk News", [("w1", "Old story")]))
    other = feeds.route("/other.xml", _rss(feeds, "Other News", [("o1", "Other story")]))
    w.call("POST", "/api/rss/preview", C.URL_PREVIEW, json_body={"url": url})
    feed = w.call("POST", "/api/rss/feeds", C.RSS_FEED, status=201, json_body={
        "url": url, "name": "Walk News", "interval": 10, "imageCount": "1", "autoPost": False,
        "platformsEnabled": {"x": True, "threads": True, "facebook": False, "pinterest": False}})
    second = w.call("POST", "/api/rss/feeds", C.RSS_FEED, status=201, json_body={"url": other})
    w.call("GET", "/api/rss/feeds", [C.RSS_FEED])
    w.call("PUT", "/api/rss/feeds/{id}", C.RSS_FEED, id=feed["id"], json_body={
        "filters": {"scope": "title", "required": [], "blocked": [{"text": "rumor", "matchType": "contains",
                                                                     "caseSensitive": False, "active": True}]},
        "platformImageCounts": {"x": "2"}})
    w.call("POST", "/api/rss/feeds/reorder", [C.RSS_FEED], json_body={"orderedIds": [feed["id"], second["id"]]})
    feeds.route("/walk.xml", _rss(feeds, "Walk News", [("w4", "The Odyssey teaser"), ("w3", "Rumor: a sequel"),
                                                        ("w2", "Dune trailer is here"), ("w1", "Old story")]))
    w.call("POST", "/api/rss/feeds/{id}/refresh", C.FEED_REFRESH, id=feed["id"], json_body={"manualRun": False})
    w.call("POST", "/api/rss/refresh", C.REFRESH_ALL)
    w.call("GET", "/api/rss/feeds/{id}/preview", C.FEED_PREVIEW, id=feed["id"])
    act = w.call("GET", "/api/rss/activity", C.RSS_ACTIVITY, params={"limit": 100})
    by_title = {i["title"]: i for i in act["items"]}
    w.check([by_title[t]["status"] for t in ("Dune trailer is here", "The Odyssey teaser", "Rumor: a sequel")]
            == ["pending", "pending", "filtered"], "new items wait for approval, a blocked one is filtered")
    # approve one and let the dispatcher publish it at its slots (dry-run): its platform results are read too
    w.beyond("POST", f"/api/rss/activity/{by_title['Dune trailer is here']['id']}/approve")
    try:
        for at in sorted(set(dispatch.pending("rss.post").values())):
            clock.set_offset(at - time.time() + 1)
            dispatch.tick()
    finally:
        clock.set_offset(None)
    act = w.call("GET", "/api/rss/activity", C.RSS_ACTIVITY, params={"limit": 100})
    done = next(i for i in act["items"] if i["title"] == "Dune trailer is here")
    w.check(done["status"] == "published" and len(done["platformResults"]) == 2,
            f"the approved item is published (dry run) on x and threads: {done['status']}")
    # a post that failed on every platform (arranged in the database: no platform is connected in this group)
    failed = by_title["The Odyssey teaser"]["id"]
    db.execute("UPDATE rss_items SET status = 'failed', error = 'x: rate limited' WHERE id = %s", (failed,))
    w.call("POST", "/api/rss/activity/{id}/retry", C.RSS_ACTIVITY_ITEM, id=failed)
    w.call("DELETE", "/api/rss/activity/{id}", None, id=by_title["Rumor: a sequel"]["id"])
    w.call("DELETE", "/api/rss/feeds/{id}", None, id=second["id"])
    w.finish()


# --- §1.5 TMDb --------------------------------------------------------------------------------------------------------
def test_tmdb(walker):
    from tmdb_support import early_morning_zone, fake_world

    from shared.local.tmdb_fake import FAKE_KEY

    w = walker("tmdb")
    tz = early_morning_zone()
    with fake_world(datetime.now(tz).date()):
        set_settings(timezone=tz.key, tmdbKey=FAKE_KEY, publishMode="dry_run")
        report = w.call("POST", "/api/tmdb/refresh", C.TMDB_REFRESH, json_body={"settings": {
            "enableToday": True, "enableWeekly": True, "enableMonthly": False, "enableAnniversaries": True,
            "todayMaxItems": "5", "weeklyMaxItems": "10", "monthlyMaxItems": "30", "anniversaryMaxItems": "5",
            "preferredImage": "poster", "selectedGenres": [], "languageFilter": "en", "onlyPopular": True,
            "dedupeWindow": "30", "anniversaryYears": [1, 5, 10], "maxPerAnniversary": "2"}})
        w.check(report is not None and report["added"] > 0, "the refresh found titles")
        posts = w.call("GET", "/api/tmdb/posts", [C.TMDB_POST])
        post = posts[0]
        w.call("PUT", "/api/tmdb/posts/{id}", None, id=post["id"], json_body={"status": "scheduled"})
        later = (datetime.fromisoformat(post["scheduledTime"].replace("Z", "+00:00")) + timedelta(hours=3))
        w.call("PUT", "/api/tmdb/posts/{id}", None, id=post["id"], json_body={"scheduledTime": later.isoformat()})
        full = w.call("GET", "/api/tmdb/posts", [C.TMDB_POST])
        restored = next(p for p in full if p["id"] == post["id"])
        w.call("DELETE", "/api/tmdb/posts/{id}", None, id=post["id"])
        w.call("POST", "/api/tmdb/posts", None, json_body=restored)  # the page's undo: the full TMDbPost back
        w.check(any(p["id"] == post["id"] for p in w.call("GET", "/api/tmdb/posts", [C.TMDB_POST])), "undo restores")
        found = w.call("GET", "/api/tmdb/search", [C.TMDB_SEARCH_RESULT], params={"query": "skyline"})
        movie = next(r for r in found if r["mediaType"] == "movie")
        w.call("GET", "/api/tmdb/images/{mediaType}/{tmdbId}", C.TMDB_IMAGES, mediaType="movie", tmdbId=movie["id"])
    w.finish()


# --- §1.6 channels ----------------------------------------------------------------------------------------------------
def test_channels(walker, monkeypatch):
    import asyncio

    from youtube_standin import youtube_at

    from shared.channels.poller import poll_due_channels
    from shared.scheduling import dispatch

    # the POST arms `channels.process` now: no QStash wake-up, or a background tick (the API serves deliveries in
    # this process) could make the channel's first check after the clock below moved a day, seeing that day's
    # uploads as existing (tests/test_channels_two_polls_at_once.py covers two polls at once)
    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    w = walker("channels")
    with youtube_at(monkeypatch, datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)) as clock:
        ch = w.call("POST", "/api/channels", C.CHANNEL, status=201, json_body={"name": "", "channelId": "@NetflixUS"})
        w.call("GET", "/api/channels", [C.CHANNEL])
        asyncio.run(poll_due_channels())  # the first check remembers what exists
        clock.now += timedelta(days=1)
        from shared.db import connection

        with connection() as conn:
            conn.execute("UPDATE yt_channels SET next_run_at = now() - interval '1 second'")
        asyncio.run(poll_due_channels())
        w.call("PATCH", "/api/channels/{id}", C.CHANNEL, id=ch["id"], json_body={"status": "inactive"})
        found = w.call("GET", "/api/channels/activity", [C.DETECTION])
        w.check(bool(found), "a day of uploads brings detections")
        w.call("DELETE", "/api/channels/{id}", None, id=ch["id"])
    w.finish()


# --- §1.7 comments automation -----------------------------------------------------------------------------------------
def test_comments_automation(walker):
    w = walker("comments automation")
    stats = w.call("GET", "/api/comments/automation/stats", [C.COMMENT_STATS])
    ready = w.call("GET", "/api/comments/automation/readiness", [C.COMMENT_READINESS])
    names = {"X", "Instagram", "TikTok", "Facebook", "YouTube", "Threads", "Pinterest"}  # §1.7's platform set
    w.check({s["platform"] for s in stats} == names and {r["platform"] for r in ready} == names,
            "one entry per platform of the real set")
    w.finish()


# --- §1.8 notifications, logs, jobs, dashboard ------------------------------------------------------------------------
def test_notifications_and_logs(walker):
    w = walker("notifications and logs")
    w.call("POST", "/api/notifications", C.NOTIFICATION, status=201, json_body={
        "title": "Upload finished", "message": "trailer.mp4 is ready", "type": "success", "source": "upload",
        "actionPage": "uploads"})
    made = w.call("POST", "/api/notifications", C.NOTIFICATION, status=201, json_body={
        "title": "Render failed", "message": "no frames", "type": "error", "source": "video_studio"})
    listed = w.call("GET", "/api/notifications", [C.NOTIFICATION])
    w.check(listed[0]["source"] == "videostudio", "video_studio is normalised (§7)")
    w.call("PUT", "/api/notifications/{id}", None, id=made["id"], json_body={"read": True})
    w.call("POST", "/api/notifications/mark-all-read", None)
    w.call("DELETE", "/api/notifications/{id}", None, id=made["id"])
    w.call("DELETE", "/api/notifications", None)
    from shared import activity

    activity.log("upload", "warn", "trailer.mp4: audio track missing", {"fileName": "trailer.mp4"})
    logs = w.call("GET", "/api/logs", [C.LOG_ENTRY], params={"limit": 50, "service": "", "level": ""})
    w.check(len(logs) == 1 and logs[0]["level"] == "warn", "the entry is listed")
    w.finish()


def test_jobs(walker):
    w = walker("jobs")
    job = w.call("POST", "/api/jobs", C.UPLOAD_JOB, json_body={
        "fileName": "odyssey-trailer.mp4", "fileSize": 48_000_000, "status": "processing", "stage": "encoding",
        "progress": 40, "metadata": {"title": "The Odyssey", "titleScore": 80, "description": "Official trailer",
                                     "descriptionWordCount": 2, "seoScore": 71, "tags": ["trailer"],
                                     "thumbnailAvailable": False}})
    # deliberate: status, stage and progress are the server's; a job without its file waits for it
    documented("docs/architecture/media.md", "**Without a source** the job waits for its file (`state: "
               "awaiting_source`, `waitingForFile: true`, status `pending`)")
    w.check((job["status"], job["stage"], job["progress"], job["waitingForFile"]) == ("pending", "queued", 0, True),
            f"the job waits for its file: {job['status']}, {job['stage']}")
    jobs = w.call("GET", "/api/jobs", [C.UPLOAD_JOB])
    w.check([j["id"] for j in jobs] == [job["id"]], "the job is listed")
    w.finish()


def test_dashboard(walker, db):
    from psycopg.types.json import Jsonb

    from shared.dashboard import stats

    stats.clear_cache()  # the dashboard's and the automation status's short cache
    w = walker("dashboard")
    # a row in every block that is built (the same arrangement as tests/test_dashboard_contract.py)
    feed = db.execute("INSERT INTO rss_feeds (name, url, last_processed_at) VALUES ('Variety', 'https://v.example/f', "
                      "now()) RETURNING id").fetchone()["id"]
    channel = db.execute("INSERT INTO yt_channels (name, channel_id) VALUES ('Trailer Hub', 'UCabc') "
                         "RETURNING id").fetchone()["id"]
    db.execute("INSERT INTO yt_videos (channel_ref, video_id, title, detected, published_at) VALUES "
               "(%s, 'v1', 'Dune: Part Three | Official Trailer', true, now()), "
               "(%s, 'v2', 'An upload without a date', true, NULL)", (channel, channel))
    db.execute("INSERT INTO media_jobs (source_key, preset, file_name, state, stage, progress) VALUES "
               "('raw/a.mp4', 'thumbnail', 'a.mp4', 'running', 'encoding', 40)")
    db.execute("INSERT INTO publications (idempotency_key, platform, family, source, content, state, published_at) "
               "VALUES ('k1', 'x', 'x', 'rss', %s, 'published', now())", (Jsonb({"title": "Dune trailer"}),))
    d = w.call("GET", "/api/dashboard/stats", C.DASHBOARD_STATS)
    w.check(bool(d["rss"]["recentFeeds"] and d["video"]["recentActivity"] and d["uploads"]["pipeline"]
                 and d["recentActivity"]), f"every built block has its row: {feed}")
    # deliberate: the studios are not built; their blocks answer zeros in the contract's shape
    documented("docs/architecture/usage.md", "Design and Video Studio (not built) answer zeros in the contract's shape")
    w.check(d["designStudio"] == d["videoStudio"] == {"generated": 0, "published": 0, "recentActivity": []},
            "studio blocks are zeros")
    w.call("GET", "/api/dashboard/system-stats", C.SYSTEM_STATS)
    w.call("GET", "/api/automation/status", C.AUTOMATION_STATUS)
    w.finish()


# --- §1.9 AI captions -------------------------------------------------------------------------------------------------
def test_ai_captions(walker):
    w = walker("ai captions")
    w.call("POST", "/api/ai/generate/rss-caption", C.AI_CONTENT, json_body={
        "articleTitle": "Dune: Part Three trailer", "feedName": "Screen News", "summary": "It is here.",
        "platform": "X", "model": "gpt-5.4-nano", "customSystemPrompt": "", "customTemperature": 0.7})
    w.call("POST", "/api/ai/generate/tmdb-caption", C.AI_CONTENT, json_body={
        "title": "Inside Out 2", "mediaType": "movie", "temporalTag": "releasing_today", "daysUntil": 0,
        "releaseDate": "2026-05-20", "cast": ["Amy Poehler"], "genres": ["Animation"], "platform": "X",
        "model": "gpt-5.4-nano", "customSystemPrompt": ""})
    w.finish()


# --- §1.10 storage ----------------------------------------------------------------------------------------------------
def test_storage(walker, clean_bucket):
    w = walker("storage")
    png = png_bytes(64, 48)
    w.call("POST", "/api/create/upload-asset", C.CREATE_ASSET,
           files={"mediaFile": ("Poster Art.png", png, "image/png")})
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 4000
    w.call("POST", "/api/video-studio/upload-asset", C.VIDEO_STUDIO_ASSET,
           files={"mediaFile": ("trailer.mp4", mp4, "video/mp4")}, data={"folder": "trailers"})
    w.call("POST", "/api/design-studio/upload-asset", C.DESIGN_STUDIO_ASSET,
           files={"mediaFile": ("preview.png", png, "image/png")}, data={"folder": "templates"})
    # deliberate: files over 4 MB go through POST /api/uploads (presigned), not through the function
    documented("docs/architecture/media.md", "store files up to 4 MB directly (sniffed the same way) and answer 413 "
               "`{useUploadsApi: true, endpoint: \"/api/uploads\"}` above that")
    big = w.call("POST", "/api/video-studio/upload-asset", None, status=413, envelope=False,
                 files={"mediaFile": ("long.mp4", mp4 + b"\x00" * (4 * 1024 * 1024), "video/mp4")})
    w.check(big is not None and big["error"]["details"]["useUploadsApi"] is True, "413 says to use /api/uploads")
    clean_bucket.put_bytes("subtitles/odyssey.vtt", b"WEBVTT", "text/vtt")
    videos = w.call("GET", "/api/video-studio/backblaze/videos", [C.BACKBLAZE_FILE])
    w.check(len(videos) == 1, "the uploaded trailer is listed")
    w.call("GET", "/api/video-studio/backblaze/subtitles", [C.BACKBLAZE_FILE])
    w.call("GET", "/api/design-studio/backblaze/templates", [C.BACKBLAZE_FILE])
    w.finish()


# --- §1.10, §3.7 the Create page's workspace -------------------------------------------------------------------------
def test_create_state(walker, clean_bucket):
    w = walker("create")
    empty = w.call("GET", "/api/create/state", C.CREATE_STATE)
    w.check(empty == {"items": [], "updatedAt": None}, "a new workspace is empty")
    draft = {"id": "c1", "status": "draft", "caption": "Opening night", "updatedAt": "2026-11-30T09:00:00.000Z",
             "platforms": ["x", "threads"]}
    saved = w.call("PUT", "/api/create/state", C.CREATE_STATE,
                   json_body={"items": [draft], "lastModifiedAt": "2026-11-30T09:00:00.000Z"})
    w.check(saved["items"] == [draft] and saved["updatedAt"], "the draft is stored as the frontend wrote it")
    again = w.call("GET", "/api/create/state", C.CREATE_STATE)
    w.check(again == saved, "a reload reads back what was saved")
    filled = w.call("POST", "/api/ai/generate/compose-metadata", C.COMPOSE_METADATA, json_body={
        "metadataText": "Dune: Part Three | Official Trailer\nIn theaters December 18.", "model": "gpt-5.4-nano",
        "selectedPlatforms": ["x", "youtube"], "availablePlaylists": [{"id": "PL1", "title": "Official Trailers"},
                                                                      {"id": "PL2", "title": "Dune"}]})
    w.check(filled["youtubeTitle"] == "Dune: Part Three | Official Trailer", "the first line is the title")
    w.check(filled["playlistSelection"]["playlistId"] == "PL2", "the playlist named in the text is chosen")
    # "Generate content" as ComposeEditorPage sends it (no OpenAI key here: the rules read the pasted metadata)
    generated = w.call("POST", "/api/ai/generate/compose-content", C.COMPOSE_CONTENT, json_body={
        "requestText": "Dune: Part Three | Official Trailer\nIn theaters December 18.", "model": "gpt-5-mini",
        "selectedPlatforms": ["x", "youtube_longform"], "availablePlaylists": [{"id": "PL2", "title": "Dune"}],
        "reviewPrompt": "Be warm.", "summaryPrompt": "Short.",
        "mediaContext": {"fileName": "dune.mp4", "mimeType": "video/mp4", "mediaKind": "video"}})
    w.check(generated["intentResult"]["outputMode"] == "post_fields", "pasted metadata fills the fields")
    w.check(generated["postFields"]["playlistSelection"]["playlistId"] == "PL2", "the offered playlist is chosen")
    thumb = w.call("POST", "/api/ai/generate/compose-thumbnail", C.COMPOSE_THUMBNAIL, json_body={
        "metadataText": "Dune: Part Three | Official Trailer", "model": "gpt-5-mini", "thumbnailType": "youtube",
        "titleHint": "Dune: Part Three | Official Trailer", "sharedCaption": "", "youtubeTitle": "",
        "thumbnailConfig": {"platform": "youtube", "logoPosition": "bottom-right", "autoScale": True,
                            "maxLogoSize": 40, "autoContrastBackdrop": True, "autoContrastOverlay": True}})
    w.check(".jpg" in thumb["storageUrl"] and thumb["size"] > 0 and thumb["resolvedTitle"] == "Dune: Part Three",
            f"a stored JPEG of the title: {thumb}")
    w.finish()


# --- coverage of the contract's table ---------------------------------------------------------------------------------
def _not_implemented() -> list[tuple[str, str]]:
    text = NOT_IMPLEMENTED_DOC.read_text()
    assert NOT_IMPLEMENTED_HEADING in text, f"{NOT_IMPLEMENTED_DOC} has no {NOT_IMPLEMENTED_HEADING!r} section"
    section = text.split(NOT_IMPLEMENTED_HEADING, 1)[1].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"`([A-Z]+) (/[^`\s]+)`", section)]


def test_every_real_app_endpoint_is_walked_or_listed(app):
    walked = [e for eps in GROUPS.values() for e in eps]
    listed = _not_implemented()
    contract = C.real_app_endpoints()
    assert len(contract) >= 70  # the parser still reads the table
    unaccounted = [e for e in contract if e not in walked and e not in listed]
    assert unaccounted == [], f"contract endpoints neither walked nor listed as not implemented: {unaccounted}"
    assert not set(walked) & set(listed), "an endpoint is both walked and listed as missing"
    strays = [e for e in walked if e not in contract and e not in DESIGN_ONLY_SERVED]
    assert strays == [], "GROUPS names an endpoint the contract's real app does not call"
    table = C.CONTRACT.read_text()
    assert all(f"| {m} | {p} |" in table for m, p in DESIGN_ONLY_SERVED)
    # what is listed as missing really is: no route serves it (and what is walked is served)
    served = {(m, segments(path)) for methods, path, _, _ in served_routes(app) for m in methods}
    assert len(served) >= 70
    assert [e for e in listed if (e[0], segments(e[1])) in served] == []
    assert [e for e in walked if (e[0], segments(e[1])) not in served] == []
