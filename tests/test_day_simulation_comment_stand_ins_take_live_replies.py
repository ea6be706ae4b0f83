"""The day simulation's comment stand-ins (bench/_sim_comments.py) take the replies the live scenarios send: the
real comment automation polls their YouTube listing, writes each reply with their OpenAI, and posts it through the
publishing engine in live mode to their `comments.insert`, which holds the request to the YouTube Data API's
discovery document. Before, the stand-ins had no `comments` endpoint: the live scenarios recorded every reply of
the day as failed."""

from __future__ import annotations

import time

import pytest

from bench import _sim_comments


@pytest.fixture
def stand_ins(backing, clean_state, monkeypatch):
    from shared.config import get_config
    from shared.local.services import ServerThread

    origin = time.time() - 3 * 3600  # three comments by now (at 0:17, 1:17 and 2:17)
    stand = _sim_comments.CommentStandIns(time.time, origin=origin)
    server = ServerThread(stand.app).start()
    for key, value in _sim_comments.env(server.url).items():
        monkeypatch.setenv(key, value)
    get_config.cache_clear()
    _sim_comments.connect(published_at=origin)
    yield stand
    server.stop()
    get_config.cache_clear()


def test_live_replies_reach_the_stand_in_once_each(stand_ins, db):
    from shared.comments import service
    from shared.settings.service import update_settings

    update_settings({**_sim_comments.SETTINGS, "publishMode": "live"})
    report = service.poll()
    assert report.platforms["youtube"]["new"] == 3
    rows = db.execute("SELECT comment_id, status, error FROM comments ORDER BY comment_id").fetchall()
    assert [(r["comment_id"], r["status"]) for r in rows] == [
        ("simcomment0", "replied"), ("simcomment1", "replied"), ("simcomment2", "replied")], rows
    assert stand_ins.refused == []
    assert {k: len(v) for k, v in stand_ins.replies.items()} == {f"simcomment{k}": 1 for k in range(3)}
    # nothing is sent twice on the next poll
    service.poll()
    assert sum(len(v) for v in stand_ins.replies.values()) == 3


def test_a_reply_outside_the_discovery_document_is_refused(stand_ins):
    import httpx

    from shared.config import get_config

    url = get_config().youtube_api_base.rstrip("/") + "/youtube/v3/comments"
    # no `part` (required by comments.insert) and a field the Comment resource does not have
    r = httpx.post(url, json={"snippet": {"parentId": "simcomment0", "textOriginal": "hi", "mood": "glad"}})
    assert r.status_code == 400
    assert any("'part'" in b for b in stand_ins.refused) and any("mood" in b for b in stand_ins.refused)
    # a parent that does not exist yet
    r = httpx.post(url, params={"part": "snippet"}, json={"snippet": {"parentId": "simcomment9",
                                                                        "textOriginal": "hi"}})
    assert r.status_code == 400 and stand_ins.replies == {}
