"""GET/PUT/DELETE /api/settings: the flat settings store (contract §1.2, §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.settings import service

router = APIRouter(prefix="/api/settings", tags=["settings"], dependencies=[Depends(require_auth)])


@router.get("", summary="Read every setting (secrets masked)")
def get_settings():
    view = service.public_settings()
    return ok(view.values, {"undecryptableKeys": view.undecryptable} if view.undecryptable else None)


@router.put("", summary="Save some settings")
def put_settings(patch: dict[str, Any] = Body(...)):
    result = service.update_settings(patch)
    return ok(result.values, result.meta())


@router.delete("", summary="Reset every setting to its default")
def delete_settings():
    removed = service.reset_settings()
    return ok({"reset": True, "removedKeys": removed},
              {"notificationTitle": "Settings reset", "notificationMessage": "All settings are back to defaults"})
