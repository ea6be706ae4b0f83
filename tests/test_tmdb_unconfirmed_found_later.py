"""A TMDb post whose platform ended *unconfirmed* (the answer was lost and the first look-up failed) is recorded
failed with "check it before posting again". When the engine's back-off re-checks later find the post on the
platform, the post says so: published, the platform's id and link, the error gone, the ledger and the activity
log updated, the owner told once. A re-check that proves nothing was posted replaces the "check it" note with the
proof. A repeated settle, or one for a platform that was not unconfirmed, changes nothing.

The whole path is real: the X fake (held to the X OpenAPI description) answers POST /2/tweets with a 503 and its
timeline does not show the tweet at first; the engine's own checker finds it there later."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import make_due

from shared.publishing.engine import runner


def _tmdb_post(platforms: tuple[str, ...]) -> dict:
    from shared.settings.service import update_settings
    from shared.tmdb.service import create_post

    update_settings({"rehostImages": False})
    at = datetime.now(timezone.utc) + timedelta(minutes=5)
    body = {"tmdbId": 438631, "mediaType": "movie", "title": "Dune", "year": 2021, "releaseDate": "2021-10-22",
            "caption": "Dune turns 5 today", "imageUrl": None, "scheduledTime": at.isoformat(),
            "source": "tmdb_anniversary", "status": "scheduled", "platforms": list(platforms), "anniversaryYears": 5}
    return create_post(body)


def _row(db, post_id: str) -> dict:
    return db.execute("SELECT * FROM tmdb_posts WHERE id = %s", (post_id,)).fetchone()


def _deliver(db, post_id: str) -> dict:
    from shared.tmdb import delivery

    return delivery.deliver(post_id, _row(db, post_id)["version"])


def _lose_the_answer_and_the_first_lookup(world) -> None:
    """X answers POST /2/tweets with a 503 and its timeline does not show the tweet: the engine cannot tell."""
    world.x.fail_next("tweet", 503)


def _x_shows_it_after_all(db, world, post_id: str) -> dict:
    """X had created the tweet after all; its timeline shows it now."""
    pub = db.execute("SELECT content FROM publications WHERE idempotency_key = %s",
                     (f"tmdb:{post_id}:x",)).fetchone()
    return world.x.record_post(text=pub["content"]["text"], media_ids=[])


def _ledger(db, post_id: str) -> str:
    return db.execute("SELECT status FROM tmdb_ledger WHERE post_id = %s", (post_id,)).fetchone()["status"]


def test_a_failed_unconfirmed_tmdb_post_found_later_by_the_re_checks_ends_published(world, db):
    world.connect("x")
    post_id = _tmdb_post(("X",))["id"]
    _lose_the_answer_and_the_first_lookup(world)
    assert _deliver(db, post_id)["status"] == "failed"
    post = _row(db, post_id)
    assert post["status"] == "failed" and post["error_message"].startswith("x: unconfirmed:")
    assert _ledger(db, post_id) == "failed" and world.x.posts == []

    tweet = _x_shows_it_after_all(db, world, post_id)
    assert make_due() == 1
    assert runner.sweep_stuck()["published"] == 1  # the engine's re-check finds the tweet and calls the listener
    post = _row(db, post_id)
    tweet_id = str(tweet["id"])
    assert post["status"] == "published" and post["error_message"] is None and post["published_at"] is not None
    assert post["platform_results"]["x"]["status"] == "posted" and post["platform_results"]["x"]["id"] == tweet_id
    assert _ledger(db, post_id) == "published"
    told = db.execute("SELECT title FROM notifications WHERE title LIKE 'Posted after all%%'").fetchall()
    assert len(told) == 1
    logged = db.execute("SELECT message FROM activity_logs WHERE message LIKE 'found on x after all%%'").fetchall()
    assert len(logged) == 1
    assert len(world.x.posts) == 1  # nothing was posted again

    # the listener hearing the same outcome again (two settle paths racing) changes nothing
    from shared.tmdb import delivery

    pub = db.execute("SELECT * FROM publications WHERE idempotency_key = %s", (f"tmdb:{post_id}:x",)).fetchone()
    delivery.on_publication_settled("tmdb", post_id, "x", pub)
    again = _row(db, post_id)
    assert again["updated_at"] == post["updated_at"] and again["version"] == post["version"]
    assert len(db.execute("SELECT 1 FROM notifications WHERE title LIKE 'Posted after all%%'").fetchall()) == 1


def test_a_post_published_elsewhere_loses_the_unconfirmed_note_when_the_platform_is_found(world, db):
    world.connect("x")
    world.connect("threads")
    post_id = _tmdb_post(("X", "Threads"))["id"]
    _lose_the_answer_and_the_first_lookup(world)
    assert _deliver(db, post_id)["status"] == "published"  # Threads took it
    before = _row(db, post_id)
    assert before["error_message"].startswith("x: unconfirmed:")
    _x_shows_it_after_all(db, world, post_id)
    make_due()
    runner.sweep_stuck()
    post = _row(db, post_id)
    assert post["status"] == "published" and post["error_message"] is None
    assert post["published_at"] == before["published_at"]  # first went live when Threads took it
    assert post["platform_results"]["threads"] == before["platform_results"]["threads"]
    assert post["platform_results"]["x"]["status"] == "posted"


def test_a_re_check_that_proves_nothing_was_posted_replaces_the_check_it_note(world, db):
    from shared.tmdb import delivery

    world.connect("x")
    post_id = _tmdb_post(("X",))["id"]
    _lose_the_answer_and_the_first_lookup(world)
    _deliver(db, post_id)
    pub = db.execute("UPDATE publications SET state = 'failed', last_error = 'not found on X after a week' "
                     "WHERE idempotency_key = %s RETURNING *", (f"tmdb:{post_id}:x",)).fetchone()
    delivery.on_publication_settled("tmdb", post_id, "x", pub)
    post = _row(db, post_id)
    assert post["status"] == "failed" and not post["error_message"].startswith("x: unconfirmed:")
    assert post["platform_results"]["x"]["status"] == "failed"


def test_a_platform_that_was_not_unconfirmed_is_never_rewritten_after_the_post_settled(world, db):
    from shared.tmdb import delivery

    world.connect("x")
    post_id = _tmdb_post(("X",))["id"]
    world.x.fail_next("tweet", 403)  # refused: a plain failure, with proof
    assert _deliver(db, post_id)["status"] == "failed"
    before = _row(db, post_id)
    assert not before["error_message"].startswith("x: unconfirmed:")
    fake = {"idempotency_key": f"tmdb:{post_id}:x", "state": "published", "platform": "x",
            "platform_post_id": "999", "published_at": datetime.now(timezone.utc), "progress": {}}
    delivery.on_publication_settled("tmdb", post_id, "x", fake)
    after = _row(db, post_id)
    assert after["status"] == "failed" and after["updated_at"] == before["updated_at"]
