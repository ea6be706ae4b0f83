"""YouTube channel monitoring (frontend-contract §1.6). `/activity` is declared before `/{id}`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.api.params import uuid_or_404

router = APIRouter(prefix="/api/channels", tags=["channels"], dependencies=[Depends(require_auth)])



class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(default=None, max_length=200)
    channelId: str = Field(min_length=2, max_length=300)
    interval: int | None = Field(default=None, ge=1, le=60)


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    channelId: str | None = Field(default=None, min_length=2, max_length=300)
    status: Literal["active", "inactive"] | None = None
    interval: int | None = Field(default=None, ge=1, le=60)


@router.get("", summary="List monitored YouTube channels")
def list_channels():
    from shared.channels import service

    return ok(service.list_channels())


@router.post("", status_code=201, summary="Monitor a YouTube channel")
def create_channel(body: ChannelCreate):
    from shared.channels import service

    return ok(service.create_channel(body.name, body.channelId, body.interval))


@router.get("/activity", summary="List trailers detected on the channels")
def activity(limit: int = Query(50, ge=1, le=500)):
    from shared.channels import service

    return ok(service.detections(limit))


@router.patch("/{channel_id}", summary="Pause, resume or edit a channel")
def update_channel(channel_id: str, body: ChannelUpdate):
    from shared.channels import service

    return ok(service.update_channel(uuid_or_404(channel_id, "channel"), body.model_dump(exclude_unset=True)))


@router.delete("/{channel_id}", summary="Stop monitoring a channel")
def delete_channel(channel_id: str):
    from shared.channels import service

    service.delete_channel(uuid_or_404(channel_id, "channel"))
    return ok({"deleted": True})
