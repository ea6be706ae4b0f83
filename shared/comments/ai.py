"""Write one reply with OpenAI (shared/ai/openai_chat.py), with the owner's model, temperature, tone and prompt;
then the clean-up of compose.sanitize. Raises ReplyUnavailable when no usable reply came out."""

from __future__ import annotations

import asyncio

from shared.comments import compose
from shared.comments.config import CommentSettings

# X counts an emoji as 2 and we allow one: keep the reply inside 280 weighted characters
_PLATFORM_MAX = {"x": 270, "threads": 480, "instagram": 2000, "facebook": 2000, "youtube": 2000}


class ReplyUnavailable(Exception):
    pass


def reply_limit(platform: str, cs: CommentSettings) -> int:
    return min(cs.max_length, _PLATFORM_MAX.get(platform, 280))


def write_reply(cs: CommentSettings, *, platform: str, comment: str, author: str | None,
                post_text: str | None) -> str:
    if not cs.openai_key:
        raise ReplyUnavailable("no OpenAI API key is set (openaiKey)")
    limit = reply_limit(platform, cs)
    msgs = compose.messages(comment=comment, author=author, post_text=post_text, platform=platform, tone=cs.tone,
                            max_length=limit, prompt=cs.prompt)

    async def _run():
        import httpx

        from shared.ai.openai_chat import chat

        async with httpx.AsyncClient() as client:
            return await chat(client, cs.openai_key, model=cs.model, messages=msgs, temperature=cs.temperature,
                              max_tokens=400)

    from shared.ai.openai_chat import OpenAIError

    try:
        result = asyncio.run(_run())
    except OpenAIError as exc:
        raise ReplyUnavailable(str(exc)) from exc
    text = compose.sanitize(result.content, limit)
    if not text:
        raise ReplyUnavailable("the model's reply was empty once hashtags, links and promotion were removed")
    return text
