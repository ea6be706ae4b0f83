

def test_every_schedule_targets_a_signed_internal_route(app):
    """A schedule pointing at a path no route serves would fail silently every time it fires."""
    from shared.messaging.schedules import SCHEDULES, validate

    validate(SCHEDULES)
    from fastapi.routing import iter_route_contexts

    posts = {ctx.path for ctx in iter_route_contexts(app.routes) if "POST" in (ctx.methods or ())}
    for s in SCHEDULES:
        assert s.path in posts, s
        assert s.path.startswith("/api/internal/"), s
