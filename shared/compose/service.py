"""What the Create page's state routes do: read the workspace, merge a device's copy into it."""

from __future__ import annotations

from typing import Any

from shared.compose import store
from shared.compose.merge import BadWorkspace
from shared.errors import ValidationFailed

MAX_ITEMS = 1000  # a workspace is a few dozen drafts; the cap bounds one row and one merge


def workspace() -> dict[str, Any]:
    return store.read()


def save_workspace(items: list[Any], last_modified_at: Any) -> dict[str, Any]:
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(f"a workspace holds at most {MAX_ITEMS} items", details={"items": len(items)})
    try:
        saved, changed = store.save_tracked(items, last_modified_at)
    except BadWorkspace as exc:
        raise ValidationFailed(str(exc), details={"field": "items"}) from exc
    if changed:  # an item scheduled, moved, unscheduled or deleted: the server's fallback follows it
        from shared.compose.scheduler import schedule_changed

        schedule_changed(changed)
    return saved


DEFAULT_MODEL = "gpt-5.4-nano"  # the contract's caption default (§4)


def compose_metadata(req: dict[str, Any]) -> dict[str, Any]:
    """Caption, YouTube title/description and playlist for the Create page. The model writes them when the owner
    has an OpenAI key; an unusable answer falls back to the text (said in `source`); a refused key is a 502."""
    import asyncio

    from shared.compose import metadata
    from shared.errors import UpstreamError
    from shared.settings.store import read_settings

    playlists = metadata.playlists_of(req.get("availablePlaylists") or [])
    platforms = [str(p) for p in req.get("selectedPlatforms") or []]
    key = str(read_settings(["openaiKey"]).get("openaiKey") or "")
    if not key:
        return {**metadata.from_text(req["metadataText"], platforms, playlists), "source": "template"}
    model = str(req.get("model") or DEFAULT_MODEL)

    async def _ask() -> str:
        import httpx

        from shared.ai.openai_chat import OpenAIError, chat

        async with httpx.AsyncClient() as client:
            try:
                result = await chat(client, key, model=model, messages=metadata.messages(req, playlists),
                                    max_tokens=1500, json_object=True)
            except OpenAIError as exc:
                raise UpstreamError(str(exc), details={"status": exc.status_code}) from exc
        return result.content

    written = metadata.from_model(asyncio.run(_ask()), req, playlists)
    if written is None:
        return {**metadata.from_text(req["metadataText"], platforms, playlists), "source": "template",
                "model": model, "note": "the model's answer was not the JSON asked for: built from the text"}
    return {**written, "source": "ai", "model": model}


CONTENT_PROMPT_SETTINGS = {"sharedCaptionPrompt": "videoUniversalCaptionPrompt",
                           "youtubeTitlePrompt": "videoYoutubeTitlePrompt",
                           "youtubeDescriptionPrompt": "videoYoutubeDescriptionPrompt",
                           "youtubePlaylistPrompt": "videoYoutubePlaylistPrompt",
                           "reviewPrompt": "videoReviewPrompt", "summaryPrompt": "videoSummaryPrompt"}


def compose_content(req: dict[str, Any]) -> dict[str, Any]:
    """Intent, metadata, and the post's fields or a preview for the Create page's "Generate content". One JSON-mode
    chat call with the owner's key (model: the request's, else `videoOpenaiModel`; prompts: the request's, else the
    saved video prompts); the rules alone without a key. A request to write something (a review, a caption for a
    bare title) cannot be answered by rules: without a key that is a 400 saying so, with an unusable answer a 502."""
    import asyncio

    from shared.compose import content, metadata
    from shared.errors import UpstreamError, ValidationFailed
    from shared.settings.store import read_settings

    text = content.normalized(str(req.get("requestText") or ""))
    if not text:
        raise ValidationFailed("requestText is empty: paste metadata or type a request",
                               details={"field": "requestText"})
    req = {**req, "requestText": text}
    playlists = metadata.playlists_of(req.get("availablePlaylists") or [])
    saved = read_settings(["openaiKey", "videoOpenaiModel", *CONTENT_PROMPT_SETTINGS.values()])
    key = str(saved.get("openaiKey") or "")
    if not key:
        answer = content.from_rules(req, playlists)
        if answer is None:
            raise ValidationFailed("writing this needs the model: add an OpenAI key in Settings, or paste the "
                                   "trailer's metadata to fill the post from it",
                                   details={"field": "requestText", "intent": content.classify(text)["intent"]})
        return {**answer, "source": "template"}
    model = str(req.get("model") or saved.get("videoOpenaiModel") or DEFAULT_MODEL)
    prompts = {k: str(req.get(k) or saved.get(s) or "") for k, s in CONTENT_PROMPT_SETTINGS.items()}

    async def _ask() -> str:
        import httpx

        from shared.ai.openai_chat import OpenAIError, chat

        async with httpx.AsyncClient() as client:
            try:
                # a review or a long description plus the metadata: room for a reasoning model's thinking too
                result = await chat(client, key, model=model, messages=content.messages(req, playlists, prompts),
                                    max_tokens=4000, timeout=90.0, json_object=True)
            except OpenAIError as exc:
                raise UpstreamError(str(exc), details={"status": exc.status_code}) from exc
        return result.content

    written = content.from_model(asyncio.run(_ask()), req, playlists)
    if written is not None:
        return {**written, "source": "ai", "model": model}
    fallback = content.from_rules(req, playlists)
    if fallback is None:
        raise UpstreamError("the model's answer had nothing usable for this request; try again or rephrase it",
                            details={"model": model})
    return {**fallback, "source": "template", "model": model,
            "note": "the model's answer was not the JSON asked for: built from the pasted metadata"}
