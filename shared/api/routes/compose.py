"""GET/PUT /api/create/state: the Create page's whole workspace (contract §1.10, §3.7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.compose import service

router = APIRouter(prefix="/api/create/state", tags=["create"], dependencies=[Depends(require_auth)])


class WorkspaceCopy(BaseModel):
    items: list[dict[str, Any]] = Field(description="the device's ComposeItem list (each with an `id`; `updatedAt` "
                                                    "decides which copy of an item wins)")
    lastModifiedAt: str | float | None = Field(
        default=None, description="when this device last changed its list (ISO-8601 or epoch ms): stored items "
                                  "it no longer lists and that are no newer than this are deleted")


@router.get("", summary="Read the compose workspace")
def get_state():
    return ok(service.workspace())


@router.put("", summary="Save the compose workspace (merged by item)")
def put_state(body: WorkspaceCopy):
    return ok(service.save_workspace(body.items, body.lastModifiedAt))
