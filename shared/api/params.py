"""Path parameters shared by the routers."""

from __future__ import annotations

import uuid

from shared.api.errors import NotFound


def uuid_or_404(value: str, what: str = "resource") -> str:
    """Our ids are UUIDs: anything else names nothing, so it is a 404, never a database type error."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound(f"{what} not found") from exc
