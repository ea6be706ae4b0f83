"""The caption endpoint's logic: AI with the owner's settings (request overrides), template without a key."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from shared.errors import UpstreamError
from shared.rss.textlength import caption_length


def _platform(name: str) -> str:
    n = (name or "x").strip().lower()
    return {"twitter": "x"}.get(n, n)


def generate_rss_caption(req: dict) -> tuple[str, dict]:
    from shared.rss.captions import CaptionSettings, ai_caption, template_caption, with_link
    from shared.settings.store import read_settings

    s = read_settings(["openaiKey", "rssCaptionModel", "rssCaptionTemperature", "rssCaptionTone",
                       "rssCaptionMaxLength", "rssCaptionPrompt"])
    cs = CaptionSettings.from_settings(s)
    if req.get("model"):
        cs = replace(cs, model=req["model"])
    if req.get("customTemperature") is not None:
        cs = replace(cs, temperature=float(req["customTemperature"]))
    platform = _platform(req.get("platform") or "x")
    key = s.get("openaiKey") or ""
    if not key:
        text = template_caption(title=req["articleTitle"], summary_html=req.get("summary") or "",
                                link=req.get("link"), platform=platform, max_length=cs.max_length)
        return text, {"source": "template", "charCount": caption_length(text, platform)}

    async def _run():
        import httpx

        from shared.ai.openai_chat import OpenAIError

        async with httpx.AsyncClient() as client:
            try:
                return await ai_caption(client, key, title=req["articleTitle"], summary=req.get("summary") or "",
                                        feed_name=req.get("feedName") or "", platform=req.get("platform") or "X",
                                        cs=cs, system_prompt=req.get("customSystemPrompt"))
            except OpenAIError as exc:
                raise UpstreamError(str(exc), details={"status": exc.status_code}) from exc

    text, cached = asyncio.run(_run())
    text = with_link(text, req.get("link"), platform, cs.max_length)
    return text, {"source": "ai_cached" if cached else "ai", "model": cs.model,
                  "charCount": caption_length(text, platform)}
