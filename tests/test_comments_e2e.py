"""Issue proof: comments appear on our posts on the platform fakes -> the poll (a dispatcher item, woken through
QStash) picks them up -> filtered ones are skipped with their reasons -> every other one gets exactly one AI
reply through the publishing engine (a reply whose answer is lost is settled by look-up, not sent again) ->
stats and readiness show it."""

from __future__ import annotations

from publishing_fakes.comments_world import (  # noqa: F401  (fixtures)
    PLATFORMS,
    comment_settings,
    comment_world,
    connect_for_comments,
    openai_replies,
    publish_posts,
)
from publishing_fakes.world import world  # noqa: F401  (fixture)
from rss_helpers import wait_for


def trigger_poll(backing):
    """The full poll's window comes (a peek saw new comments, see test_comments_dispatch.py): its dispatcher item
    is due now, and the dispatcher's wake-up goes through (emulated) QStash to the API, which runs the tick."""
    from shared import clock
    from shared.scheduling import dispatch

    before = len(backing.emulator.state.deliveries)
    assert dispatch.arm([("comments.run", "all", clock.time())]) is not None  # one wake-up message, for now
    return wait_for(lambda: [d for d in backing.emulator.state.deliveries[before:]
                             if d.get("url", "").endswith(dispatch.DISPATCH_PATH) and "status" in d], timeout=60)[0]


def replies_to(world, family: str, comment_id: str) -> list[dict]:
    fake = world.by_family[family]
    return [p for p in fake.posts if str(p.get("reply_to") or p.get("in_reply_to") or "") == str(comment_id)]


def comment_rows(db) -> dict[str, dict]:
    return {r["comment_id"]: r for r in db.execute("SELECT * FROM comments").fetchall()}


def test_poll_filters_and_replies_once_through_qstash(backing, live_api, client, auth, comment_world, db):
    from shared.settings.service import update_settings

    w = comment_world
    connect_for_comments(w, *PLATFORMS)
    posts = publish_posts(w, tag="e2e")
    good = {
        "x": w.x.add_reply(posts["x"], "When does the full movie come out?", username="dune_fan"),
        "threads": w.threads.add_reply(posts["threads"], "The score in this trailer is unreal", username="t_fan"),
        "facebook": w.meta.add_fb_comment(posts["facebook"], "Cannot wait to see this in IMAX", name="Ada"),
        "instagram": w.meta.add_ig_comment(posts["instagram"], "This looks incredible", username="ig_fan"),
        "youtube": w.youtube.add_comment(posts["youtube"], "Goosebumps at 1:12", author="Tube Fan"),
    }
    skipped = {
        w.x.add_reply(posts["x"], "buy followers at cheapfans.com", username="spam_acc")["id"]: "link",
        w.threads.add_reply(posts["threads"], "🔥🔥🔥", username="t_fan2")["id"]: "emoji_only",
        w.meta.add_fb_comment(posts["facebook"], "We will post more soon!", name="Screndly Page",
                              from_id=w.meta.page["id"])["id"]: "own_reply",
        w.meta.add_ig_comment(posts["instagram"], "total garbage", username="troll")["id"]: "blacklisted_user",
        w.youtube.add_comment(posts["youtube"], "no spoilers please, what happens at the end?")["id"]:
            "blacklisted_keyword",
    }
    # the platforms received the first X and Threads replies, but their answers are lost on the way back
    w.x.fail_next("tweet", "timeout_after")
    w.threads.fail_next("publish", "timeout_after")
    update_settings(comment_settings(commentBlacklistUsernames="@Troll", commentBlacklistKeywords="spoilers",
                                     commentReplyModel="gpt-5.4-mini", commentReplyTone="Casual",
                                     commentReplyPrompt="Answer as the Screndly team, warmly."))

    delivery = trigger_poll(backing)
    assert delivery["status"] == 200

    rows = comment_rows(db)
    assert len(rows) == 10
    for cid, code in skipped.items():
        assert rows[cid]["status"] == "skipped" and rows[cid]["skip_code"] == code, rows[cid]
        assert rows[cid]["skip_reason"]
    for fam, c in good.items():
        row = rows[str(c["id"])]
        assert row["status"] == "replied", (fam, row)
        sent = replies_to(w, fam, c["id"])
        assert len(sent) == 1, (fam, sent)  # exactly one reply on the platform
        assert row["reply_id"] is not None and row["reply_text"] == sent[0]["text"]
        # the clean-up held: no hashtag, no promotion, one emoji at most
        assert "#" not in row["reply_text"] and "Follow" not in row["reply_text"]
        assert row["reply_text"].count("🎬") == 1 and "🍿" not in row["reply_text"]
    for cid in skipped:
        assert not any(replies_to(w, fam, cid) for fam in PLATFORMS)
    # the owner's model and prompt were used, and the model saw our post's own text as its only context
    asked = [r for r in w.openai.requests if "Cannot wait to see this in IMAX" in r["messages"][-1]["content"]]
    assert len(asked) == 1 and asked[0]["model"] == "gpt-5.4-mini"
    assert asked[0]["messages"][0]["content"].startswith("Answer as the Screndly team, warmly.")
    assert "Tone: Casual" in asked[0]["messages"][0]["content"]
    assert "The Dune: Part Three trailer is out" in asked[0]["messages"][-1]["content"]
    # the lost answers were settled by looking the replies up, never by sending them again
    settled = {r["platform"]: r["progress"].get("result", {}).get("settledBy") for r in db.execute(
        "SELECT platform, progress FROM publications WHERE source = 'comment'").fetchall()}
    assert settled["x_comment_reply"] == "lookup" and settled["threads_comment_reply"] == "lookup"
    assert sum(1 for n, _ in w.x.calls if n == "tweet") == 2  # the post itself + one reply

    # a second poll finds nothing new and sends nothing
    from shared.comments import service

    second = service.poll()
    assert all(p.get("new") == 0 for p in second.platforms.values())
    assert all(len(replies_to(w, fam, c["id"])) == 1 for fam, c in good.items())

    stats = {s["key"]: s for s in client.get("/api/comments/automation/stats", headers=auth).json()["data"]}
    for fam, c in good.items():
        s = stats[fam]
        assert s["enabled"] is True and s["repliesToday"] == 1 and s["successRate"] == 100.0
        assert s["recentReplies"][0]["comment"] == c["text"] and s["recentReplies"][0]["reply"]
        assert s["recentReplies"][0]["time"].endswith("Z")
    assert stats["tiktok"]["enabled"] is False and stats["tiktok"]["repliesToday"] == 0
    assert {s["platform"] for s in stats.values()} == {"X", "Instagram", "TikTok", "Facebook", "YouTube", "Threads",
                                                       "Pinterest"}

    ready = {r["key"]: r for r in client.get("/api/comments/automation/readiness", headers=auth).json()["data"]}
    for fam in PLATFORMS:
        assert ready[fam]["ready"] is True and ready[fam]["connected"] and ready[fam]["reasons"] == [], ready[fam]
        assert ready[fam]["username"] == "screndly"
    assert ready["tiktok"]["ready"] is False and ready["tiktok"]["reasons"]

    # quotas were counted where they were spent
    usage = {(r["platform"], r["unit"]): r["used"] for r in db.execute("SELECT * FROM comment_usage").fetchall()}
    assert usage[("youtube", "youtube_units")] >= 1 + 50
    assert usage[("x", "x_post_reads")] == w.x.posts_read
    assert usage[("instagram", "graph_calls")] >= 1
    logs = db.execute("SELECT message FROM activity_logs WHERE service = 'comments'").fetchall()
    assert any("5 replies sent" in r["message"] for r in logs), logs
