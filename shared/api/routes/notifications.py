"""/api/notifications (contract §1.8), polled every 30 s. `mark-all-read` is declared before `/{id}`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok, ok_response
from shared.api.errors import NotFound
from shared.services import notifications as service

router = APIRouter(prefix="/api/notifications", tags=["notifications"], dependencies=[Depends(require_auth)])


class NewNotification(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    message: str = Field(default="", max_length=4000)
    type: Literal["success", "error", "info", "warning"] = "info"
    source: str | None = Field(default=None, max_length=64)
    actionPage: str | None = Field(default=None, max_length=200)


class ReadState(BaseModel):
    read: bool = True


@router.get("", summary="List notifications")
def list_notifications(limit: int = Query(50, ge=1, le=200)):
    return ok_response(service.list_notifications(limit))


@router.post("", status_code=201, summary="Create a notification")
def create_notification(body: NewNotification):
    return ok(service.create_notification(body.type, body.title, body.message, body.source, body.actionPage))


@router.post("/mark-all-read", summary="Mark every notification read")
def mark_all_read():
    return ok({"updated": service.mark_all_read()})


@router.put("/{notification_id}", summary="Mark a notification read or unread")
def set_read(notification_id: str, body: ReadState):
    row = service.set_read(notification_id, body.read)
    if row is None:
        raise NotFound("notification not found", details={"id": notification_id})
    return ok(row)


@router.delete("/{notification_id}", summary="Delete a notification")
def delete_notification(notification_id: str):
    if not service.delete_notification(notification_id):
        raise NotFound("notification not found", details={"id": notification_id})
    return ok({"deleted": True})


@router.delete("", summary="Delete every notification")
def clear_notifications():
    return ok({"deleted": service.clear_notifications()})
