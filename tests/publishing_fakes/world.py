"""A world of platform fakes behind respx, with the API base URLs pointed at them, plus helpers to connect
accounts (directly or through the real OAuth flow) and to count posts.

Every fake holds every request to its platform's official description (tests/contracts/); a test whose code sent
a request the description does not allow fails at teardown with the rules broken (`World.violations`)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
import respx

from publishing_fakes.base import MediaHost
from publishing_fakes.meta import MetaFake
from publishing_fakes.pinterest import PinterestFake
from publishing_fakes.threads import ThreadsFake
from publishing_fakes.tiktok import TikTokFake
from publishing_fakes.x import XFake
from publishing_fakes.youtube import YouTubeFake


class World:
    def __init__(self):
        self.x = XFake()
        self.meta = MetaFake()
        self.threads = ThreadsFake()
        self.tiktok = TikTokFake()
        self.youtube = YouTubeFake()
        self.pinterest = PinterestFake()
        self.media = MediaHost()
        self.by_family = {"x": self.x, "facebook": self.meta, "instagram": self.meta, "threads": self.threads,
                          "tiktok": self.tiktok, "youtube": self.youtube, "pinterest": self.pinterest}

    def env(self) -> dict[str, str]:
        return {
            "X_CLIENT_ID": self.x.client_id, "X_CLIENT_SECRET": self.x.client_secret,
            "X_API_BASE": "https://x.test", "X_AUTHORIZE_URL": "https://x.test/i/oauth2/authorize",
            "TIKTOK_CLIENT_KEY": self.tiktok.client_id, "TIKTOK_CLIENT_SECRET": self.tiktok.client_secret,
            "TIKTOK_API_BASE": "https://tiktok.test", "TIKTOK_AUTHORIZE_URL": "https://tiktok.test/v2/auth/authorize/",
            "META_CLIENT_ID": self.meta.client_id, "META_CLIENT_SECRET": self.meta.client_secret,
            "META_GRAPH_BASE": "https://graph.test", "META_GRAPH_VIDEO_BASE": "https://graph-video.test",
            "META_GRAPH_VERSION": self.meta.version, "META_AUTHORIZE_URL": "https://graph.test/dialog/oauth",
            "THREADS_CLIENT_ID": self.threads.client_id, "THREADS_CLIENT_SECRET": self.threads.client_secret,
            "THREADS_API_BASE": "https://threads.test", "THREADS_AUTHORIZE_URL": "https://threads.test/oauth/authorize",
            "YOUTUBE_CLIENT_ID": self.youtube.client_id, "YOUTUBE_CLIENT_SECRET": self.youtube.client_secret,
            "YOUTUBE_API_BASE": "https://yt.test", "GOOGLE_TOKEN_URL": "https://oauth.yt.test/token",
            "YOUTUBE_AUTHORIZE_URL": "https://oauth.yt.test/auth",
            "PINTEREST_CLIENT_ID": self.pinterest.client_id, "PINTEREST_CLIENT_SECRET": self.pinterest.client_secret,
            "PINTEREST_API_BASE": "https://pin.test", "PINTEREST_AUTHORIZE_URL": "https://pin.test/oauth/",
            "PUBLISH_POLL_INTERVAL_SECONDS": "0", "PUBLISH_POLL_BUDGET_SECONDS": "5",
            "PUBLISH_RETRY_BASE_SECONDS": "0.001", "PUBLISH_HTTP_TIMEOUT_SECONDS": "5",
        }

    def install(self, router: respx.Router) -> None:
        router.route(host="127.0.0.1").pass_through()
        router.route(host="localhost").pass_through()
        for fake, hosts in ((self.x, ["x.test"]), (self.meta, ["graph.test", "graph-video.test"]),
                            (self.threads, ["threads.test"]),
                            (self.tiktok, ["tiktok.test", "tiktok-upload.test"]),
                            (self.youtube, ["yt.test", "oauth.yt.test"]),
                            (self.pinterest, ["pin.test", "pin-upload.test"]), (self.media, ["media.test"])):
            for h in hosts:
                router.route(host=h).mock(side_effect=fake.handle)

    # --- accounts -------------------------------------------------------------------------------
    def connect(self, *families: str, expires_in: timedelta = timedelta(hours=2)) -> None:
        """Store connections with tokens the fakes accept (the OAuth tests cover the real flow)."""
        from shared.config import get_config
        from shared.publishing.connections import store
        from shared.publishing.connections.providers import provider

        exp = datetime.now(timezone.utc) + expires_in
        for fam in families or ("x", "threads", "facebook", "instagram", "tiktok", "youtube", "pinterest"):
            fake = self.by_family[fam]
            scopes = provider(fam, get_config()).scopes  # what our consent page asks for, granted
            t = fake.issue_tokens("owner", scopes=scopes)
            if fam in ("facebook", "instagram"):
                page = self.meta.page
                token = self.meta.page_token_for(page["id"], scopes)
                acct = page["id"] if fam == "facebook" else self.meta.ig["id"]
                meta = {"pageId": page["id"], "pageName": page["name"]}
                if fam == "instagram":
                    meta["igUserId"] = self.meta.ig["id"]
                store.save(fam, acct, store.Tokens(access_token=token, scopes=list(scopes)), username="screndly",
                           profile_url=None, metadata=meta, extra={"user_token": t["access_token"]})
                continue
            acct = {"x": self.x.user["id"], "threads": self.threads.user["id"], "tiktok": "tt-open-1",
                    "youtube": "UC123", "pinterest": "screndly"}[fam]
            store.save(fam, acct, store.Tokens(access_token=t["access_token"], refresh_token=t.get("refresh_token"),
                                               expires_at=exp, scopes=list(scopes)),
                       username="screndly", profile_url=None, metadata={})

    def violations(self) -> list[str]:
        return [f"{f.name}: {v}" for f in (self.x, self.meta, self.threads, self.tiktok, self.youtube, self.pinterest)
                for v in f.violations]

    def total_posts(self) -> int:
        return sum(len(f.posts) for f in {id(f): f for f in self.by_family.values()}.values())


@pytest.fixture
def world(backing, clean_state):
    from shared.config import get_config

    w = World()
    saved = {k: os.environ.get(k) for k in w.env()}
    os.environ.update(w.env())
    get_config.cache_clear()
    try:
        with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
            w.install(router)
            yield w
        broken = w.violations()
        if broken:
            pytest.fail("requests the platforms' descriptions do not allow:\n  " + "\n  ".join(broken[:20]),
                        pytrace=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_config.cache_clear()
