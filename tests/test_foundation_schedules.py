

def test_every_schedule_targets_a_signed_internal_route(app):
    """A schedule pointing at a path no route serves would fail silently every time it fires."""
    from shared.messaging.schedules import SCHEDULES, validate

    validate(SCHEDULES)
    from fastapi.routing import iter_route_contexts

    posts = {ctx.path for ctx in iter_route_contexts(app.routes) if "POST" in (ctx.methods or ())}
    for s in SCHEDULES:
        assert s.path in posts, s
        assert s.path.startswith("/api/internal/"), s


def test_schedules_fit_the_free_tier_and_their_idle_day_stays_under_a_tenth_of_it():
    """QStash's free plan: 10 schedules, 1,000 messages a day. Work that is timed per item (feed checks, posts,
    comment polls) runs on the dispatcher instead of a schedule of its own."""
    from croniter import croniter

    from shared.messaging.schedules import FREE_TIER_SCHEDULES, SCHEDULES

    assert len(SCHEDULES) <= FREE_TIER_SCHEDULES
    assert not [s for s in SCHEDULES if "comment" in s.id or "comments" in s.path]
    start = 1_800_000_000 - 1_800_000_000 % 86400  # a UTC midnight
    fires = 0
    for s in SCHEDULES:
        expr = s.cron.split(" ", 1)[1] if s.cron.startswith("CRON_TZ=") else s.cron
        it = croniter(expr, start - 1)
        while it.get_next(float) < start + 86400:
            fires += 1
    assert fires <= 100, fires  # 31 today: the hourly safety net, maintenance, cleanup, TMDb's two
