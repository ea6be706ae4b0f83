"""A TMDb delivery records each platform's outcome after publishing them all. A platform the engine parked
(`waiting`: a rate limit, a transient error) can be settled by another worker in between: the engine's settle
listener writes `posted` first, then the delivery's own record arrives with the `waiting` it saw. That older word
about the same publication must not undo the settle: before, the post went back to "publishing, waiting on x"
until the 15-minute safety net asked the publications table again.

Real path: the X fake (held to the X OpenAPI description) answers the first POST /2/tweets with a 429, the engine
parks the publication and the delivery sees `waiting`; the engine's run posts it and its listener settles the
post before the delivery's record is written."""

from __future__ import annotations

from publishing_fakes.world import world  # noqa: F401  (fixture)
from test_tmdb_unconfirmed_found_later import _deliver, _ledger, _row, _tmdb_post

from shared.db import connection
from shared.publishing.engine import runner
from shared.tmdb import delivery


def test_the_delivery_record_seen_before_a_settle_does_not_undo_it(world, db, monkeypatch, redis_raw):
    world.connect("x")
    world.connect("threads")
    post_id = _tmdb_post(("X", "Threads"))["id"]
    world.x.fail_next("tweet", 429)
    world.threads.fail_next("container", 429)
    real_settle = delivery._settle
    raced = []

    def settle_after_the_engine(pid: str, results: dict) -> dict:
        if not raced:  # the delivery's own record: the engine settles the publication first
            raced.append(dict(results))
            assert results["x"]["status"] == results["threads"]["status"] == "waiting"
            _run_now(results["x"]["publicationId"], redis_raw)  # its listener records `posted` for x
            assert _row(db, pid)["platform_results"]["x"]["status"] == "posted"
        return real_settle(pid, results)

    monkeypatch.setattr(delivery, "_settle", settle_after_the_engine)
    out = _deliver(db, post_id)
    assert raced, "the delivery never recorded a waiting platform"
    assert out == {"status": "publishing", "waiting": ["threads"], "results": out["results"]}
    assert _row(db, post_id)["platform_results"]["x"]["status"] == "posted"  # not back to waiting

    _run_now(raced[0]["threads"]["publicationId"], redis_raw)  # Threads settles: the post is whole
    post = _row(db, post_id)
    assert post["status"] == "published", post["platform_results"]
    assert {p: r["status"] for p, r in post["platform_results"].items()} == {"x": "posted", "threads": "posted"}
    assert _ledger(db, post_id) == "published"
    assert len(world.x.posts) == 1


def _run_now(pub_id: str, redis_raw) -> None:
    """The parked publication's retry comes due (the platform's rate limit has reset) and the engine runs it."""
    with connection() as c:
        c.execute("UPDATE publications SET not_before = now() - interval '1 minute' WHERE id = %s", (pub_id,))
    for key in redis_raw.scan_iter("pub:rl:*"):
        redis_raw.delete(key)
    assert runner.run(pub_id).state == "published"


def test_merge_keeps_the_newer_word_about_one_publication():
    posted = {"status": "posted", "id": "1", "publicationId": "p1"}
    unconfirmed = {"status": "failed", "error": "unconfirmed: the platform did not confirm", "publicationId": "p1"}
    waiting = {"status": "waiting", "publicationId": "p1"}
    merge = delivery._merge_results
    assert merge({"x": posted}, {"x": waiting}) == {"x": posted}
    assert merge({"x": posted}, {"x": unconfirmed}) == {"x": posted}
    assert merge({"x": unconfirmed}, {"x": waiting}) == {"x": unconfirmed}
    assert merge({"x": waiting}, {"x": posted}) == {"x": posted}
    # another publication (a re-scheduled post's new attempt): the new word wins whatever it says
    assert merge({"x": posted}, {"x": {**waiting, "publicationId": "p2"}})["x"]["publicationId"] == "p2"
    # a result with no publication (the engine itself failed) replaces what was there
    failed = {"status": "failed", "error": "RuntimeError: boom"}
    assert merge({"x": waiting}, {"x": failed}) == {"x": failed}
    assert merge({"x": posted, "threads": waiting}, {"threads": posted}) == {"x": posted, "threads": posted}
