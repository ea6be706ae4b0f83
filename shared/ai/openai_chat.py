"""OpenAI Chat Completions over httpx: POST {base}/chat/completions with a Bearer key.

Small on purpose (no SDK import on the request path). GPT-5-family models accept only the default temperature:
when the API answers 400 about `temperature`, the call is repeated once without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


class OpenAIError(Exception):
    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class ChatResult:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"


def _base() -> str:
    from shared.config import get_config

    return get_config().openai_base_url.rstrip("/")


def _body(model: str, messages: list[dict], temperature: float | None, max_tokens: int,
          json_object: bool = False) -> dict:
    body: dict = {"model": model, "messages": messages, "max_completion_tokens": max_tokens}
    if temperature is not None:
        body["temperature"] = temperature
    if json_object:  # JSON mode: https://platform.openai.com/docs/guides/structured-outputs#json-mode
        body["response_format"] = {"type": "json_object"}
    return body


def _result(resp: httpx.Response) -> ChatResult:
    data = resp.json()
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as exc:
        raise OpenAIError("OpenAI answered without a message") from exc
    usage = data.get("usage") or {}
    return ChatResult(content=content.strip(), model=data.get("model", ""),
                      prompt_tokens=int(usage.get("prompt_tokens", 0)),
                      completion_tokens=int(usage.get("completion_tokens", 0)),
                      finish_reason=str(choice.get("finish_reason") or "stop"))


def _error(resp: httpx.Response) -> OpenAIError:
    try:
        msg = resp.json().get("error", {}).get("message", "")
    except ValueError:
        msg = resp.text[:200]
    if resp.status_code == 401:
        return OpenAIError("OpenAI rejected the API key", 401)
    if resp.status_code == 429:
        return OpenAIError("OpenAI rate limit or quota reached", 429)
    return OpenAIError(f"OpenAI error {resp.status_code}: {msg[:200]}", resp.status_code)


def _temperature_rejected(resp: httpx.Response) -> bool:
    return resp.status_code == 400 and "temperature" in resp.text


async def chat(client: httpx.AsyncClient, api_key: str, *, model: str, messages: list[dict],
               temperature: float | None = None, max_tokens: int = 400, timeout: float = 30.0,
               json_object: bool = False) -> ChatResult:
    headers = {"Authorization": f"Bearer {api_key}"}
    url = f"{_base()}/chat/completions"
    try:
        resp = await client.post(url, json=_body(model, messages, temperature, max_tokens, json_object),
                                 headers=headers, timeout=timeout)
        if temperature is not None and _temperature_rejected(resp):
            resp = await client.post(url, json=_body(model, messages, None, max_tokens, json_object),
                                     headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise OpenAIError(f"OpenAI unreachable: {type(exc).__name__}") from exc
    if resp.status_code >= 400:
        raise _error(resp)
    result = _result(resp)
    from shared.usage import meter

    meter.count("openai.tokens", result.prompt_tokens + result.completion_tokens)  # billed per token
    meter.count("openai.calls")
    # https://platform.openai.com/docs/api-reference/chat/object (finish_reason): "length" is an answer cut at
    # max_completion_tokens (a reasoning model may spend them all thinking), "content_filter" one with content
    # left out. Neither may be posted as a caption or a reply: callers fall back as on any other failure.
    if result.finish_reason == "length":
        raise OpenAIError("OpenAI's answer was cut off at the token limit; nothing of it was used")
    if result.finish_reason == "content_filter":
        raise OpenAIError("OpenAI left content out of its answer (content filter); nothing of it was used")
    return result
