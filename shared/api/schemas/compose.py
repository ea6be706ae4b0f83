"""Response models of the Create page's state routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.api.schemas.base import Envelope


class ComposeWorkspace(BaseModel):
    """The stored workspace: the frontend's ComposeItem objects as it wrote them, merged across devices."""
    items: list[dict[str, Any]]
    updatedAt: str | None = Field(description="when the server last saved it; null before the first save")


RESPONSES: dict[str, Any] = {
    "GET /api/create/state": Envelope[ComposeWorkspace],
    "PUT /api/create/state": Envelope[ComposeWorkspace],
}
