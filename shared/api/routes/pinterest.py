"""GET/POST /api/pinterest/boards (lives with the platform routes; this module exposes it as `router`)."""

from shared.api.routes.platforms import boards_router as router  # noqa: F401
