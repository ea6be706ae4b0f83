"""Platforms: connections (OAuth), YouTube playlists, Pinterest boards, publish now (frontend-contract §1.3)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.api.errors import ValidationFailed

router = APIRouter(prefix="/api/platforms", dependencies=[Depends(require_auth)], tags=["platforms"])
boards_router = APIRouter(prefix="/api/pinterest", dependencies=[Depends(require_auth)], tags=["platforms"])


def _family(name: str) -> str:
    from shared.publishing.platforms import UnknownPlatform, normalize_family

    try:
        return normalize_family(name)
    except UnknownPlatform as exc:
        raise ValidationFailed(str(exc), details={"platform": name}) from exc


@router.get("/status", summary="Connection state of every platform")
def status():
    from shared.publishing.connections.service import status_map

    return ok(status_map())


@router.get("/youtube/playlists", summary="List the YouTube channel's playlists")
def youtube_playlists():
    from shared.publishing.connections.service import youtube_playlists as playlists

    return ok(playlists())


@router.get("/facebook/pages", summary="List the Facebook Pages the login manages")
def facebook_pages():
    from shared.publishing.connections.pages import facebook_pages as pages

    return ok(pages())


class PageChoice(BaseModel):
    pageId: str = Field(min_length=1, max_length=40, pattern=r"^\d+$")


@router.put("/facebook/page", summary="Choose the Facebook Page to post to")
def choose_facebook_page(body: PageChoice):
    from shared.publishing.connections.pages import choose_facebook_page as choose

    return ok(choose(body.pageId))


@router.get("/auth/{platform}", summary="Start connecting a platform (OAuth)")
def start_auth(platform: str, redirectUri: str = Query(..., min_length=8, max_length=2000)):
    from shared.publishing.connections.oauth import authorization_url

    return ok({"url": authorization_url(_family(platform), redirectUri)})


class CallbackBody(BaseModel):
    platform: str | None = Field(default=None, max_length=40)
    code: str = Field(min_length=1, max_length=4000)
    state: str | None = Field(default=None, max_length=8000)
    codeVerifier: str | None = Field(default=None, max_length=200)  # ignored: the verifier comes from the state
    redirectUri: str | None = Field(default=None, max_length=2000)


@router.post("/callback", summary="Finish connecting a platform (OAuth callback)")
def callback(body: CallbackBody):
    from shared.publishing.connections.oauth import complete

    platform = complete(body.platform, body.code, body.state, body.redirectUri)
    return ok({"platform": platform, "connected": True})


class PostBody(BaseModel):
    platforms: list[str] = Field(min_length=1, max_length=20)
    content: dict[str, Any]


def _json_field(raw: Any, name: str) -> Any:
    """A JSON document from the request, held to the same rules as every JSON body (shared/api/input_guard)."""
    from shared.api.input_guard import decode_json

    try:
        doc, problem = decode_json(raw)
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be valid JSON") from exc
    if problem:
        field, why = problem
        raise ValidationFailed(f"{name}.{field} {why}" if field != "body" else f"{name} {why}",
                               details={"field": name if field == "body" else f"{name}.{field}"})
    return doc


@router.post("/post", summary="Publish now to one or more platforms")
async def post(request: Request):
    from shared.publishing import api_service

    ctype = request.headers.get("content-type", "").lower()
    upload = None
    if ctype.startswith("multipart/"):
        form = await request.form()
        raw = {"platforms": _json_field(form.get("platforms") or "[]", "platforms"),
               "content": _json_field(form.get("content") or "{}", "content")}
        f = form.get("mediaFile")
        if f is not None and not isinstance(f, str):  # a file part, not a text field
            upload = (f.filename or "media", f.content_type or "application/octet-stream", await f.read())
    else:
        raw = _json_field(await request.body(), "body")
    try:
        body = PostBody.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed("request validation failed: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])) from exc
    content = body.content
    stored = None
    if upload is not None:
        stored = await run_in_threadpool(api_service.store_upload, *upload)
        content = api_service.attach_upload(content, stored.url, upload[1])
    try:
        data = await run_in_threadpool(api_service.publish_now, body.platforms, content,
                                       request.headers.get("idempotency-key"))
    except ValidationFailed:
        if stored is not None:  # refused before any publication could reference the file
            await run_in_threadpool(api_service.discard_upload, stored)
        raise
    return ok(data)


@router.delete("/{platform}", summary="Disconnect a platform")
def disconnect(platform: str):
    from shared.publishing.connections.service import disconnect as do_disconnect

    do_disconnect(_family(platform))
    return ok({"platform": _family(platform), "connected": False})


@boards_router.get("/boards", summary="List Pinterest boards")
def boards():
    from shared.publishing.connections.service import pinterest_boards

    return ok(pinterest_boards())


class BoardBody(BaseModel):
    name: str = Field(min_length=1, max_length=180)
    description: str | None = Field(default=None, max_length=500)
    privacy: Literal["PUBLIC", "PROTECTED", "SECRET"] = "PUBLIC"


@boards_router.post("/boards", summary="Create a Pinterest board")
def create_board(body: BoardBody):
    from shared.publishing.connections.service import create_pinterest_board

    return ok(create_pinterest_board(body.name, body.description, body.privacy))
