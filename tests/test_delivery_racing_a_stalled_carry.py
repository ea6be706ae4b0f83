"""A delivery at the slot meeting a carry still in flight (shared/publishing/staging/ahead.py): a carrier stalled
past the 3-minute lead (a slow function, a paused process), or one that began just before the slot, while the
post's dispatcher item fires. Real Postgres, Redis and platform fakes; the interleavings are forced with hooks
(the carrier in a thread held at an event), never with sleeps.

Whatever the interleaving, the post goes out once, under one publication per key, and the RSS/TMDb row ends
agreeing with it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_mp.staged import bring_slot, staging  # noqa: F401  (fixture)

from shared.publishing.engine import publications as pubs
from shared.publishing.staging import record


def _tmdb_post(platforms=("X",), caption: str = "Dune turns 5 today") -> str:
    from shared.settings.service import update_settings
    from shared.tmdb.service import create_post

    update_settings({"rehostImages": False})
    at = datetime.now(timezone.utc) + timedelta(hours=1)
    return create_post({"tmdbId": 438631, "mediaType": "movie", "title": "Dune", "year": 2021,
                        "releaseDate": "2021-10-22", "caption": caption, "imageUrl": None,
                        "scheduledTime": at.isoformat(), "source": "tmdb_anniversary", "status": "scheduled",
                        "platforms": list(platforms), "anniversaryYears": 5})["id"]


def _rss_post(db) -> tuple[str, str]:
    """(planned post id, item id): an auto-posting feed's item planned on X an hour ahead."""
    from psycopg.types.json import Jsonb

    feed = db.execute("INSERT INTO rss_feeds (name, url, auto_post, platforms_enabled) VALUES ('F', %s, true, %s) "
                      "RETURNING id", (f"https://f.example/{uuid.uuid4().hex}",
                                       Jsonb({"x": True, "threads": False, "facebook": False, "pinterest": False}))
                      ).fetchone()["id"]
    item = db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, link, status, caption, caption_source) "
                      "VALUES (%s, %s, 'Dune Part Three trailer', 'https://news.example/dune', 'queued', "
                      "'A new trailer is out', 'ai') RETURNING id", (feed, uuid.uuid4().hex)).fetchone()["id"]
    post = db.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at) VALUES (%s, 'x', %s) "
                      "RETURNING id", (item, datetime.now(timezone.utc) + timedelta(hours=1))).fetchone()["id"]
    return str(post), str(item)


def _slot_comes(db) -> None:
    """Time passes: the posts' slots (and their publications') are now."""
    db.execute("UPDATE tmdb_posts SET scheduled_at = now() - interval '1 second'")
    db.execute("UPDATE rss_planned_posts SET scheduled_at = now() - interval '1 second'")
    db.execute("UPDATE publications SET not_before = now() - interval '1 second' "
               "WHERE state IN ('planned', 'staged')")
    for pub_id in record.all_ids():
        bring_slot(pub_id)


class Stalled:
    """A carrier (`carry`) run in a thread and held at the first call of `module.name` (before it runs) until
    `resume()`."""

    def __init__(self, monkeypatch, module, name: str, carry: Callable[[], object]):
        self.reached, self.go, self.out = threading.Event(), threading.Event(), []
        real = getattr(module, name)
        holder = self

        def held(*a, **kw):
            if threading.current_thread() is holder.thread and not holder.reached.is_set():
                holder.reached.set()
                assert holder.go.wait(30), "never resumed"
            return real(*a, **kw)

        monkeypatch.setattr(module, name, held)
        self.thread = threading.Thread(target=lambda: self.out.append(carry()), daemon=True)
        self.thread.start()
        assert self.reached.wait(30), f"the carrier never reached {name}"

    def resume(self) -> None:
        self.go.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def _when_delivery_finds_the_publication(monkeypatch, then: Callable[[], None]) -> None:
    """Run `then` right after the delivery's gateway call found the publication under its key (between the
    look-up and the claim that would run it), once."""
    from shared.publishing.engine import service

    real = pubs.create_or_get
    done: list[bool] = []

    def found(**kw):
        row, created = real(**kw)
        if not created and not done and threading.current_thread() is threading.main_thread():
            done.append(True)
            then()
        return row, created

    monkeypatch.setattr(service.pubs, "create_or_get", found)


@pytest.mark.parametrize("source", ["tmdb", "rss"])
def test_a_carrier_dropping_its_unstaged_publication_as_the_delivery_picks_it_up_still_posts_once(
        world, db, staging, monkeypatch, source):
    """The carrier created the publication (`gateway.prepare`) and stalled before staging it; the slot came and
    the post's item fired. The delivery finds that planned publication under its key; the carrier resumes, its
    stage is refused (due too soon) and it deletes the publication it made, before the delivery claims it. The
    delivery must publish anyway (a fresh publication: nothing was sent under the key), not wait on a row that is
    gone (the post would stay `publishing`, then be failed by the safety net with nothing posted)."""
    from shared.publishing.staging import stage
    from shared.rss import queue
    from shared.tmdb import delivery

    world.connect("x", expires_in=timedelta(days=2))
    if source == "tmdb":
        post_id = _tmdb_post()
        key = f"tmdb:{post_id}:x"
        carrier = Stalled(monkeypatch, stage, "stage_one", lambda: delivery.carry_one(post_id))
    else:
        post_id, item = _rss_post(db)
        key = f"rss:{item}:x"
        carrier = Stalled(monkeypatch, stage, "stage_one", lambda: queue.carry_one(post_id))
    assert [p["state"] for p in db.execute("SELECT state FROM publications WHERE idempotency_key = %s", (key,))] \
        == ["planned"]
    _slot_comes(db)
    _when_delivery_finds_the_publication(monkeypatch, carrier.resume)
    if source == "tmdb":
        version = db.execute("SELECT version FROM tmdb_posts WHERE id = %s", (post_id,)).fetchone()["version"]
        res = delivery.deliver(post_id, version)
    else:
        res = queue.deliver_due(post_id, datetime.now(timezone.utc))
    assert carrier.out and carrier.out[0] is not None  # the carry did not hand the post over
    assert res.get("status") in ("published", "posted"), res
    [pub] = db.execute("SELECT * FROM publications WHERE idempotency_key = %s", (key,)).fetchall()
    assert pub["state"] == "published" and len(world.x.posts) == 1
    if source == "tmdb":
        row = db.execute("SELECT * FROM tmdb_posts WHERE id = %s", (post_id,)).fetchone()
        assert row["status"] == "published" and row["platform_results"]["x"]["id"] == pub["platform_post_id"]
    else:
        row = db.execute("SELECT * FROM rss_planned_posts WHERE id = %s", (post_id,)).fetchone()
        assert row["status"] == "posted" and row["outcome"]["id"] == pub["platform_post_id"]


def test_a_publication_deleted_between_the_insert_and_the_read_is_created_again(db):
    """`create_or_get` under a key whose row is deleted between its insert (which met the row) and its read (a
    carrier withdrawing the planned publication it made): the row is created again, never None."""
    from shared.db import connection

    base = {"key": "tmdb:race:x", "target": "x", "family": "x", "source": "tmdb", "source_ref": "race",
            "content": {"text": "hi"}, "dry_run": False}
    first, created = pubs.create_or_get(**base, not_before=datetime.now(timezone.utc) + timedelta(hours=1))
    assert created

    class DeletesAfterTheInsert:
        """The caller's connection; a carrier deletes the row right after the insert statement met it."""

        def __init__(self, conn):
            self.conn, self.inserts = conn, 0

        def execute(self, sql, params=None):
            cur = self.conn.execute(sql, params)
            if sql.lstrip().startswith("INSERT"):
                self.inserts += 1
                if self.inserts == 1:
                    assert cur.rowcount == 0  # it met the row
                    assert pubs.drop_planned([str(first["id"])]) == {str(first["id"])}
            return cur

    with connection() as c:
        proxy = DeletesAfterTheInsert(c)
        row, created = pubs.create_or_get(**base, not_before=None, conn=proxy)
    assert row is not None and created and str(row["id"]) != str(first["id"]) and row["not_before"] is None
    assert proxy.inserts == 2
