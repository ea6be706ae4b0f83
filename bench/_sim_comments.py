"""A model of the comment automation's cost for the day simulation (the real one is being built in
shared/comments/ by another helper). It plugs into the dispatcher the way a Neon-aware poller would:

- `comments.poll` (Redis only): every `commentPollMinutes` on the 10-minute grid (the governor may widen it
  or pause it), so it shares the wake-up the feed checks already have. Per-platform cursors live in the
  dispatcher's meta hash (written by the tick's commit: no extra command). The platform calls themselves
  are not billed by any free tier we meter, so the model makes none.
- Every 6th poll finds new comments (~24 a day): storing them and replying needs Postgres, so it arms
  `comments.store` for the next processing window (it may run early: it joins any window that opens).

What it does not model: the replies' OpenAI tokens and the platforms' own rate limits.
"""

from __future__ import annotations

from shared.scheduling.dispatch import Kind, Tick, hook, register

META = "comments.poll"
NEW_EVERY = 6

register(Kind("comments.poll", "bench._sim_comments:poll", needs_db=False, order=15))
register(Kind("comments.store", "bench._sim_comments:store", needs_db=True, early=86400.0, order=25))


@hook
def _bootstrap(t: Tick) -> None:
    if not t.meta.get(META):
        from shared.rss.feedstate import grid_at_or_after

        t.arm("comments.poll", "all", grid_at_or_after(t.now, 600))
        t.set_meta(META, "0")


def poll(t: Tick, refs: list[str]) -> None:
    from shared.rss.feedstate import next_on_grid
    from shared.usage import meter

    gov = t.governor
    n = int(t.meta_json(META, 0) or 0) + 1
    t.set_meta(META, str(n))
    if gov.comments_paused:  # look again in an hour whether the governor let go
        t.arm("comments.poll", "all", next_on_grid(t.now, 3600))
        return
    t.arm("comments.poll", "all", next_on_grid(t.now, gov.comments_poll_minutes * 60))
    meter.count("comments.runs")
    meter.gauge("comments.last_run", t.now)
    if n % NEW_EVERY == 0:
        t.arm("comments.store", str(n), t.next_window(gov.rss_window_minutes))


def store(t: Tick, refs: list[str]) -> None:
    from shared import activity

    for ref in refs:
        activity.log("comment", "info", f"model: stored and answered the new comments of poll {ref}")
