"""The Create page's "fill from metadata": a shared caption, a YouTube title and description, and the playlist
that fits, from the text the owner pasted (frontend-contract §1.9 `compose-metadata`).

With an OpenAI key, one chat call in JSON mode writes them (the owner's prompts from the request steer each
field); without one, or when the answer is unusable, the text itself is shaped into them. Either way the
platforms' own limits are applied here, not trusted to the model: the caption fits the strictest selected
platform (X 280, Threads 500, Instagram 2,200, ...), a YouTube title is at most 100 characters and a description
at most 5,000 bytes, neither with `<` or `>` (YouTube refuses both: https://developers.google.com/youtube/v3/docs/videos
#snippet.title), and the playlist is one the owner offered or none.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shared.rss.textlength import caption_length

CAPTION_LIMITS = {"x": 280, "threads": 500, "instagram": 2200, "tiktok": 2200, "facebook": 63206,
                  "pinterest": 500, "youtube": 5000}  # frontend-contract §5 (Pinterest: the description)
YOUTUBE_TITLE_MAX = 100
YOUTUBE_DESCRIPTION_MAX = 5000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(("a", "an", "and", "the", "of", "to", "in", "on", "for", "with", "at", "by", "from", "is", "are",
                   "was", "be", "this", "that", "it", "its", "new", "official", "trailer", "teaser", "video",
                   "clip"))


@dataclass(frozen=True)
class Playlist:
    id: str
    name: str


def family(platform: str) -> str:
    p = (platform or "").strip().lower()
    for name in CAPTION_LIMITS:
        if p.startswith(name):  # InstagramReels, YouTubeShorts, FacebookStories ... share their family's limit
            return name
    return {"twitter": "x"}.get(p, p)


def caption_limit(platforms: list[str]) -> int:
    limits = [CAPTION_LIMITS[f] for f in (family(p) for p in platforms) if f in CAPTION_LIMITS]
    return min(limits) if limits else CAPTION_LIMITS["x"]


def playlists_of(raw: list[Any]) -> list[Playlist]:
    """The playlists the page offers: `{id, title}` (YouTube's own field) or `{id, name}`; others ignored."""
    out = []
    for p in raw or []:
        if isinstance(p, dict) and p.get("id") and (p.get("title") or p.get("name")):
            out.append(Playlist(str(p["id"]), str(p.get("title") or p.get("name"))))
    return out


def _words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text or "")) if w not in _STOP and len(w) > 1}


def fit(text: str, limit: int, platform: str = "x") -> str:
    """Cut at a word boundary with an ellipsis so the platform's own count (X counts URLs as 23) fits."""
    text = " ".join((text or "").split()) if "\n" not in (text or "") else (text or "").strip()
    if caption_length(text, platform) <= limit:
        return text
    cut = text
    while cut and caption_length(cut + "…", platform) > limit:
        cut = cut[: max(0, min(len(cut) - 1, int(len(cut) * 0.9)))]
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return (cut.rstrip(" ,.;:-") + "…") if cut else ""


def shared_caption(text: str, platforms: list[str]) -> str:
    """One caption for every selected platform: cut to the strictest limit, counted as that platform counts."""
    strictest = min(((caption_limit([p]), family(p)) for p in platforms), default=(280, "x"))
    return fit(text, caption_limit(platforms), strictest[1])


def youtube_text(text: str, limit: int) -> str:
    clean = (text or "").replace("<", "‹").replace(">", "›")
    return fit(clean, limit, "youtube")


def youtube_description(text: str) -> str:
    """YouTube counts a description's limit in UTF-8 bytes (https://developers.google.com/youtube/v3/docs/videos
    #snippet.description: 5000 bytes), so accents, emoji and CJK text are cut sooner than characters say."""
    out = youtube_text(text, YOUTUBE_DESCRIPTION_MAX)
    while len(out.encode("utf-8")) > YOUTUBE_DESCRIPTION_MAX:
        keep = len(out) - max(1, (len(out.encode("utf-8")) - YOUTUBE_DESCRIPTION_MAX) // 4)
        out = fit(out[:keep].rstrip("…"), keep - 1, "youtube")
    return out


def choose_playlist(text: str, playlists: list[Playlist]) -> dict[str, Any] | None:
    """The offered playlist whose name shares the most words with the text (ties: the first offered)."""
    words = _words(text)
    best: tuple[int, Playlist] | None = None
    for p in playlists:
        shared = len(_words(p.name) & words)
        if shared and (best is None or shared > best[0]):
            best = (shared, p)
    if best is None:
        return None
    shared_words = sorted(_words(best[1].name) & words)
    return {"playlistId": best[1].id, "playlistName": best[1].name,
            "reason": "its name shares " + ", ".join(f"'{w}'" for w in shared_words) + " with the text",
            "confidence": round(min(1.0, best[0] / max(1, len(_words(best[1].name)))), 2)}


def from_text(metadata_text: str, platforms: list[str], playlists: list[Playlist]) -> dict[str, Any]:
    """Without a model: the first line is the title, the text the description and caption."""
    lines = [line.strip() for line in (metadata_text or "").splitlines() if line.strip()]
    title = lines[0] if lines else ""
    body = "\n".join(lines)
    return {"sharedCaption": shared_caption(" ".join(lines), platforms),
            "youtubeTitle": youtube_text(title, YOUTUBE_TITLE_MAX),
            "youtubeDescription": youtube_description(body),
            "playlistSelection": choose_playlist(metadata_text, playlists)}


def messages(req: dict[str, Any], playlists: list[Playlist]) -> list[dict[str, str]]:
    platforms = [str(p) for p in req.get("selectedPlatforms") or []]
    rules = [
        ("You write post metadata for a movie and trailer account. Answer with one JSON object with the keys "
         "sharedCaption, youtubeTitle, youtubeDescription, playlistId, playlistReason, playlistConfidence."),
        (f"sharedCaption: one caption for {', '.join(platforms) or 'X'}, at most {caption_limit(platforms)} "
         "characters."),
        (f"youtubeTitle: at most {YOUTUBE_TITLE_MAX} characters; youtubeDescription: at most "
         f"{YOUTUBE_DESCRIPTION_MAX} characters; never use < or >."),
        "playlistId: the id of the one playlist below that fits, or null; playlistConfidence: 0 to 1.",
    ]
    for key, label in (("sharedCaptionPrompt", "For the caption"), ("youtubeTitlePrompt", "For the title"),
                       ("youtubeDescriptionPrompt", "For the description"),
                       ("youtubePlaylistPrompt", "For the playlist")):
        if str(req.get(key) or "").strip():
            rules.append(f"{label}, the owner says: {str(req[key]).strip()}")
    offered = json.dumps([{"id": p.id, "name": p.name} for p in playlists], ensure_ascii=False)
    media = req.get("mediaContext") or {}
    user = (f"Playlists: {offered}\n"
            + (f"Media: {json.dumps(media, ensure_ascii=False)}\n" if media else "")
            + f"Metadata:\n{req.get('metadataText') or ''}")
    return [{"role": "system", "content": "\n".join(rules)}, {"role": "user", "content": user}]


def from_model(content: str, req: dict[str, Any], playlists: list[Playlist]) -> dict[str, Any] | None:
    """The model's JSON, held to the limits; None when it is not the object asked for (the text is used)."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k].strip()
                                             for k in ("sharedCaption", "youtubeTitle", "youtubeDescription")):
        return None
    platforms = [str(p) for p in req.get("selectedPlatforms") or []]
    chosen = next((p for p in playlists if p.id == str(data.get("playlistId") or "")), None)
    confidence = data.get("playlistConfidence")
    selection = None
    if chosen is not None:
        selection = {"playlistId": chosen.id, "playlistName": chosen.name,
                     "reason": str(data.get("playlistReason") or "chosen by the model")[:500],
                     "confidence": round(min(1.0, max(0.0, float(confidence))), 2)
                     if isinstance(confidence, (int, float)) and not isinstance(confidence, bool) else 0.5}
    return {"sharedCaption": shared_caption(data["sharedCaption"], platforms),
            "youtubeTitle": youtube_text(data["youtubeTitle"], YOUTUBE_TITLE_MAX),
            "youtubeDescription": youtube_description(data["youtubeDescription"]),
            "playlistSelection": selection}
