"""The Create page's "Generate content" (frontend-contract §1.9 `compose-content`): what the owner typed or pasted
is read as a request ("Write me a review of The Matrix", "Give me a review for The Matrix for 60 seconds video")
or as metadata (a trailer's title, date, cast), and answered with the intent, the film's metadata, and either the
post's fields (outputMode `post_fields`: the page fills caption, YouTube title, description, playlist) or a
preview text (outputMode `preview_only`: a standalone review or summary the owner applies by hand).

The SPA (app/src/lib/api/ai.ts, ComposeEditorPage.tsx) reads `intentResult.outputMode`, then either
`editorialResult.text` (must not be empty for a preview) or `postFields.*` (strings, and
`postFields.playlistSelection.playlistId`, read without a null check on the selection: it is always an object).

With an OpenAI key, one chat call in JSON mode answers all of it (the peer backend spends three or four calls:
classify, extract, write, pick a playlist). Without one, or when the answer is unusable, the rules below classify
the text and read its metadata; pasted metadata is then shaped into the fields as `compose-metadata` does, while
a request to *write* something needs the model (the caller says so). Whatever the model says is held to the
contract's enums, to the platforms' limits (metadata.py) and to the playlists the owner offered.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.compose import metadata

INTENTS = ("post_generation", "review_generation", "summary_generation", "promo_caption_generation",
           "metadata_extraction", "mixed_request")
OUTPUT_MODES = ("post_fields", "preview_only")
FORMATS = ("general", "short_form_video", "social_post", "youtube_metadata")
EDITORIAL_TYPES = ("review", "summary", "editorial")
MEDIA_FIELDS = ("title", "year", "mediaType", "cast", "director", "creator", "studio", "platform", "releaseDate",
                "synopsis", "producers", "franchise", "tone", "sourceType")
MAX_LIST = 12
MAX_FIELD = 300
MAX_SYNOPSIS = 2000
MAX_EDITORIAL = 5000

_DURATION_S = re.compile(r"\b(\d{1,4})\s*(?:-\s*)?(?:s|secs?|seconds?)\b", re.IGNORECASE)
_DURATION_M = re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:mins?|minutes?)\b", re.IGNORECASE)
_REVIEW = re.compile(r"\breview\b", re.IGNORECASE)
_SUMMARY = re.compile(r"\bsummar(?:y|ies|ise|ize)\b|\brecap\b", re.IGNORECASE)
_PROMO = re.compile(r"\b(?:promo|promotional|hype)\b", re.IGNORECASE)
_EXTRACT = re.compile(r"\b(?:extract|pull out|list)\b.*\b(?:metadata|details|cast|credits)\b", re.IGNORECASE)
# words that say the result is meant to be posted, not read on its own
_POSTING = re.compile(r"\b(?:caption|post|posting|tweet|thread|instagram|threads|tiktok|youtube|reel|reels|shorts?|"
                      r"short[- ]form|description|video|clip)\b", re.IGNORECASE)
_METADATA_WORDS = re.compile(
    r"\b(?:premieres?|premiering|starring|stars|cast|synopsis|official trailer|teaser|trailer|release date|"
    r"in theaters|in cinemas|coming to|streaming|directed by|produced by|creator|season \d+)\b", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“‘']([^\"”’']{2,80})[\"”’']")
_ABOUT = re.compile(r"\b(?:review|summary|summari[sz]e|recap|caption|post|promo)\s+(?:of|for|about|on)\s+"
                    r"(?:the\s+(?:movie|film|show|series)\s+)?(.+?)(?=\s+(?:for|in|as|with|under|that|which)\b|"
                    r"[.,!?\n]|$)", re.IGNORECASE)
_LABELLED = re.compile(r"^\s*(title|description|synopsis|creator|director|directed by|studio|platform|network|"
                       r"release date|premiere|cast|starring|producers?|franchise|year|type|source platform)\s*:\s*"
                       r"(.+)$", re.IGNORECASE | re.MULTILINE)
_YEAR = re.compile(r"\b(19[0-9]{2}|20[0-9]{2}|2100)\b")
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_DATE = re.compile(rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}})\b")
_STARRING = re.compile(r"\b(?:starring|stars|with)\s+([A-Z][^.\n]{2,200}?)(?=[.\n]|$)")
_DIRECTED = re.compile(r"\bdirected by\s+([A-Z][\w.'\- ]{2,60}?)(?=[,.;\n]|\s+and\b|$)", re.IGNORECASE)
_PLATFORMS = ("Apple TV+", "Netflix", "Prime Video", "Amazon Prime Video", "Disney+", "Hulu", "Max", "HBO Max", "HBO",
              "Paramount+", "Peacock", "Crunchyroll", "Apple TV", "Showtime", "Starz", "AMC+", "MUBI", "Shudder")
_STUDIOS = ("Warner Bros.", "Warner Bros", "Universal Pictures", "Universal", "Sony Pictures", "Columbia Pictures",
            "Paramount Pictures", "20th Century Studios", "Walt Disney Pictures", "Marvel Studios", "Pixar",
            "Lucasfilm", "DC Studios", "Legendary", "Lionsgate", "A24", "Neon", "Focus Features", "Searchlight",
            "Blumhouse", "MGM", "Amazon MGM Studios", "Apple Original Films")
_TV = re.compile(r"\b(?:series|season \d+|season|episodes?|miniseries|limited series|show)\b", re.IGNORECASE)
_FILM = re.compile(r"\b(?:movie|film|in theaters|in cinemas|only in theaters|box office)\b", re.IGNORECASE)
PLACEHOLDER_TITLES = frozenset({"untitled post", "untitled"})


def normalized(text: str) -> str:
    """The text as the SPA sends it: CRLF to LF, at most one blank line, runs of spaces folded."""
    t = (text or "").replace("\r\n", "\n")
    t = re.sub(r"[ \t]+", " ", t)
    return re.sub(r"\n{3,}", "\n\n", t).strip()


def duration_seconds(text: str) -> int | None:
    """'60 seconds', '60-second', '90s' or '2 minutes' in a request; None when it names no length."""
    m = _DURATION_S.search(text or "")
    if m and 0 < int(m.group(1)) <= 36000:
        return int(m.group(1))
    m = _DURATION_M.search(text or "")
    if m and 0 < int(m.group(1)) <= 600:
        return int(m.group(1)) * 60
    return None


def contains_metadata(text: str) -> bool:
    """Pasted metadata (several lines, or the words a trailer's description uses) rather than a one-line request."""
    return "\n" in (text or "").strip() or bool(_METADATA_WORDS.search(text or ""))


def labelled(text: str) -> dict[str, str]:
    """`Title: ...`, `Description: ...` lines (what the SPA's URL import writes), by lower-case label."""
    out: dict[str, str] = {}
    for m in _LABELLED.finditer(text or ""):
        out.setdefault(m.group(1).lower(), m.group(2).strip())
    return out


def detect_title(text: str) -> str:
    """The film or show the text is about: a `Title:` line, a quoted name, the words after "review of", or the
    first line of pasted metadata before its separator ("Dune: Part Three | Official Trailer")."""
    text = normalized(text)
    if not text:
        return ""
    tagged = labelled(text).get("title")
    if tagged:
        return _clean_title(tagged)
    quoted = _QUOTED.search(text)
    if quoted:
        return _clean_title(quoted.group(1))
    about = _ABOUT.search(text)
    if about:
        return _clean_title(about.group(1))
    if contains_metadata(text):
        first = text.splitlines()[0]
        return _clean_title(re.split(r"\s+[|–—]\s+|\s+-\s+", first, maxsplit=1)[0])
    return ""


_TITLE_TAIL = re.compile(r"\s*(?:[|:–—-]\s*)?(?:official\s+|final\s+|new\s+|first\s+|teaser\s+)*"
                         r"(?:trailer|teaser|clip|featurette|first look|sneak peek|tv spot)\b.*$", re.IGNORECASE)


def _clean_title(candidate: str) -> str:
    t = _TITLE_TAIL.sub("", candidate.strip()).strip(" \t-–—:|,.!?\"'“”‘’")
    return t[:MAX_FIELD] if len(t) >= 2 else ""


def classify(text: str) -> dict[str, Any]:
    """The intent without a model. A review or summary that names no posting use ("Write me a review of The
    Matrix") is a preview; one that does ("... for a 60 seconds video", "... caption") fills the post's fields;
    anything else (pasted metadata, "write a caption for ...") fills them too."""
    text = normalized(text)
    seconds = duration_seconds(text)
    meta = contains_metadata(text)
    posting = bool(_POSTING.search(text)) or seconds is not None
    wants_review, wants_summary = bool(_REVIEW.search(text)), bool(_SUMMARY.search(text))
    if (wants_review or wants_summary) and not meta:
        intent = "review_generation" if wants_review else "summary_generation"
        fill = posting
        fmt = ("short_form_video" if seconds is not None else "social_post") if fill else "general"
    elif _EXTRACT.search(text) and not meta:
        intent, fill, fmt = "metadata_extraction", True, "general"
    else:
        intent = "promo_caption_generation" if _PROMO.search(text) else (
            "post_generation" if meta else "mixed_request")
        fill = True
        fmt = "youtube_metadata" if re.search(r"\byoutube\b", text, re.IGNORECASE) else (
            "short_form_video" if seconds is not None else "social_post")
    return {"intent": intent, "outputMode": "post_fields" if fill else "preview_only", "format": fmt,
            "durationSeconds": seconds, "directFieldFillAllowed": fill, "detectedTitle": detect_title(text),
            "containsMetadata": meta}


def _names(raw: str) -> list[str]:
    parts = re.split(r",\s*|\s+and\s+|\s*&\s*", raw)
    return [p.strip(" .") for p in parts if 2 <= len(p.strip(" .")) <= 60][:MAX_LIST]


def _first_named(text: str, names: tuple[str, ...]) -> str:
    # the earliest name in the text; at one place the longest ("Apple TV+" over "Apple TV")
    found = [(m.start(), -len(n), n) for n in names for m in [re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text)] if m]
    return min(found)[2] if found else ""


def media_from_text(text: str, title: str = "") -> dict[str, Any]:
    """What the text itself says about the film, nothing invented: empty strings, [] and null elsewhere."""
    text = normalized(text)
    tags = labelled(text)
    out = empty_media()
    out["title"] = title or detect_title(text)
    year = tags.get("year") or next(iter(_YEAR.findall(text)), "")
    out["year"] = int(year) if str(year).isdigit() and 1870 <= int(year) <= 2100 else None
    kind = tags.get("type", "")
    out["mediaType"] = ("tv" if _TV.search(kind or text) else "movie" if _FILM.search(kind or text) else "")
    cast = tags.get("cast") or tags.get("starring")
    starring = _STARRING.search(text)
    out["cast"] = _names(cast) if cast else (_names(starring.group(1)) if starring else [])
    directed = tags.get("director") or tags.get("directed by")
    found = _DIRECTED.search(text)
    out["director"] = (directed or (found.group(1) if found else "")).strip()[:MAX_FIELD]
    out["creator"] = tags.get("creator", "")[:MAX_FIELD]
    out["studio"] = (tags.get("studio") or _first_named(text, _STUDIOS))[:MAX_FIELD]
    out["platform"] = (tags.get("platform") or tags.get("network") or _first_named(text, _PLATFORMS))[:MAX_FIELD]
    date = tags.get("release date") or tags.get("premiere") or ""
    if not date:
        m = _DATE.search(text)
        date = m.group(0) if m else ""
    out["releaseDate"] = date[:MAX_FIELD]
    synopsis = tags.get("synopsis") or tags.get("description") or ""
    if not synopsis and contains_metadata(text):
        lines = text.splitlines()
        synopsis = " ".join(lines[1:]) if len(lines) > 1 else ""
    out["synopsis"] = synopsis.strip()[:MAX_SYNOPSIS]
    out["producers"] = _names(tags["producers"]) if tags.get("producers") else (
        _names(tags["producer"]) if tags.get("producer") else [])
    out["franchise"] = tags.get("franchise", "")[:MAX_FIELD]
    out["sourceType"] = ("promotional_metadata" if contains_metadata(text) else
                         "title_only_request" if out["title"] else "natural_language_request")
    return out


def empty_media() -> dict[str, Any]:
    return {"title": "", "year": None, "mediaType": "", "cast": [], "director": "", "creator": "", "studio": "",
            "platform": "", "releaseDate": "", "synopsis": "", "producers": [], "franchise": "", "tone": "",
            "sourceType": ""}


def youtube_selected(platforms: list[str]) -> bool:
    return any(metadata.family(p) == "youtube" for p in platforms)


def no_playlist(reason: str) -> dict[str, Any]:
    return {"playlistId": None, "playlistName": None, "reason": reason, "confidence": 0}


def empty_fields(reason: str) -> dict[str, Any]:
    return {"sharedCaption": "", "youtubeTitle": "", "youtubeDescription": "", "playlistSelection": no_playlist(reason)}


def fields_from_text(text: str, platforms: list[str], playlists: list[metadata.Playlist]) -> dict[str, Any]:
    """Pasted metadata shaped into the post's fields without a model (compose-metadata's rules); the YouTube
    fields only when a YouTube placement is selected."""
    shaped = metadata.from_text(text, platforms, playlists)
    return _post_fields(shaped["sharedCaption"], shaped["youtubeTitle"], shaped["youtubeDescription"],
                        shaped["playlistSelection"], platforms)


def _post_fields(caption: str, title: str, description: str, selection: dict[str, Any] | None,
                 platforms: list[str]) -> dict[str, Any]:
    if not youtube_selected(platforms):
        return {**empty_fields("YouTube is not selected for this post"), "sharedCaption": caption}
    return {"sharedCaption": caption, "youtubeTitle": title, "youtubeDescription": description,
            "playlistSelection": selection or no_playlist("no offered playlist fits")}


# --- the model ------------------------------------------------------------------------------------------------------

def messages(req: dict[str, Any], playlists: list[metadata.Playlist], prompts: dict[str, str]) -> list[dict[str, str]]:
    platforms = [str(p) for p in req.get("selectedPlatforms") or []]
    youtube = youtube_selected(platforms)
    rules = [
        ("You help a movie and TV trailer account write posts. Read the owner's input and answer with one JSON "
        "object with exactly the keys intentResult, mediaMetadata, postFields, editorialResult."),
        (f"intentResult: {{intent: one of {list(INTENTS)}, outputMode: 'post_fields' when the result is meant to "
        "be posted (captions, social posts, short videos, pasted metadata) or 'preview_only' for a standalone "
        f"review or summary with no posting use, format: one of {list(FORMATS)}, durationSeconds: the length "
        "asked for in seconds or null, detectedTitle: the film or show, containsMetadata: whether the input "
        "is pasted metadata}."),
        (f"mediaMetadata: {{{', '.join(MEDIA_FIELDS)}}}: only what the input says or what you know for certain "
        "about that title; '' , [] or null otherwise; year a number; sourceType one of promotional_metadata, "
        "natural_language_request, mixed_input, title_only_request."),
        "postFields (only for post_fields, else empty strings): {sharedCaption: one caption for "
        f"{', '.join(platforms) or 'X'} of at most {metadata.caption_limit(platforms)} characters"
        + (f", youtubeTitle: at most {metadata.YOUTUBE_TITLE_MAX} characters, youtubeDescription: at most "
           f"{metadata.YOUTUBE_DESCRIPTION_MAX} characters, never < or >, playlistId: the id of the one "
           "playlist below that fits or null, playlistReason, playlistConfidence: 0 to 1}."
           if youtube else ", youtubeTitle: '', youtubeDescription: '', playlistId: null}: YouTube is not "
           "selected."),
        ("editorialResult (only for preview_only, else {type: null, text: ''}): {type: 'review', 'summary' or "
        "'editorial', text: the finished piece}."),
        "A duration means the text must be speakable in that time (about 2.5 words a second).",
    ]
    for key, label in (("sharedCaptionPrompt", "For the caption"), ("youtubeTitlePrompt", "For the YouTube title"),
                       ("youtubeDescriptionPrompt", "For the YouTube description"),
                       ("youtubePlaylistPrompt", "For the playlist"), ("reviewPrompt", "For a review"),
                       ("summaryPrompt", "For a summary")):
        if prompts.get(key, "").strip():
            rules.append(f"{label}, the owner says: {prompts[key].strip()}")
    offered = json.dumps([{"id": p.id, "name": p.name} for p in playlists] if youtube else [], ensure_ascii=False)
    media = req.get("mediaContext") or {}
    user = (f"Playlists: {offered}\n"
            + (f"Attached media: {json.dumps(media, ensure_ascii=False)}\n" if media else "")
            + f"Input:\n{str(req.get('requestText') or '')[:8000]}")
    return [{"role": "system", "content": "\n".join(rules)}, {"role": "user", "content": user}]


def _enum(value: Any, allowed: tuple[str, ...], fallback: str) -> str:
    return value if isinstance(value, str) and value in allowed else fallback


def _text(value: Any, limit: int = MAX_FIELD) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [t for t in (_text(v, 100) for v in value) if t][:MAX_LIST]


def intent_from_model(raw: Any, fallback: dict[str, Any]) -> dict[str, Any]:
    """The model's intent held to the contract's enums (an unknown value keeps the rules' reading)."""
    raw = raw if isinstance(raw, dict) else {}
    mode = _enum(raw.get("outputMode"), OUTPUT_MODES, fallback["outputMode"])
    seconds = raw.get("durationSeconds")
    seconds = int(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and \
        0 < seconds <= 36000 else fallback["durationSeconds"]
    contains = raw.get("containsMetadata")
    return {"intent": _enum(raw.get("intent"), INTENTS, fallback["intent"]), "outputMode": mode,
            "format": _enum(raw.get("format"), FORMATS, fallback["format"]), "durationSeconds": seconds,
            # the page fills fields exactly when the mode says so: the two never disagree
            "directFieldFillAllowed": mode == "post_fields",
            "detectedTitle": _text(raw.get("detectedTitle")) or fallback["detectedTitle"],
            "containsMetadata": contains if isinstance(contains, bool) else fallback["containsMetadata"]}


def media_from_model(raw: Any, fallback: dict[str, Any]) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    out = empty_media()
    for key in MEDIA_FIELDS:
        if key in ("cast", "producers"):
            out[key] = _strings(raw.get(key)) or fallback[key]
        elif key == "year":
            y = raw.get("year")
            y = int(y) if isinstance(y, str) and y.strip().isdigit() else y
            out[key] = y if isinstance(y, int) and not isinstance(y, bool) and 1870 <= y <= 2100 else \
                fallback["year"]
        else:
            out[key] = _text(raw.get(key), MAX_SYNOPSIS if key == "synopsis" else MAX_FIELD) or fallback[key]
    return out


def from_model(content: str, req: dict[str, Any], playlists: list[metadata.Playlist]) -> dict[str, Any] | None:
    """The model's answer held to the contract; None when it is not the object asked for or says nothing usable
    (no preview text for a preview, no field for a fill): the caller then falls back to the rules."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    text = str(req.get("requestText") or "")
    rules = classify(text)
    intent = intent_from_model(data.get("intentResult"), rules)
    media = media_from_model(data.get("mediaMetadata"), media_from_text(text, intent["detectedTitle"]))
    if not intent["detectedTitle"] and media["title"]:
        intent["detectedTitle"] = media["title"]
    platforms = [str(p) for p in req.get("selectedPlatforms") or []]
    if intent["outputMode"] == "preview_only":
        editorial = _obj(data.get("editorialResult"))
        body = _str(editorial.get("text"))[:MAX_EDITORIAL]
        if not body:
            return None
        kind = _enum(editorial.get("type"), EDITORIAL_TYPES, {"review_generation": "review",
                                                             "summary_generation": "summary"}.get(
                                                                 intent["intent"], "editorial"))
        return {"intentResult": intent, "mediaMetadata": media,
                "postFields": empty_fields("a preview fills no field"),
                "editorialResult": {"type": kind, "text": body}}
    fields = _obj(data.get("postFields"))
    caption = metadata.shared_caption(_str(fields.get("sharedCaption")), platforms)
    selection = None
    chosen = next((p for p in playlists if p.id == str(fields.get("playlistId") or "")), None)
    if chosen is not None:
        confidence = fields.get("playlistConfidence")
        selection = {"playlistId": chosen.id, "playlistName": chosen.name,
                     "reason": _text(fields.get("playlistReason"), 500) or "chosen by the model",
                     "confidence": round(min(1.0, max(0.0, float(confidence))), 2)
                     if isinstance(confidence, (int, float)) and not isinstance(confidence, bool) else 0.5}
    post = _post_fields(caption, metadata.youtube_text(_str(fields.get("youtubeTitle")), metadata.YOUTUBE_TITLE_MAX),
                        metadata.youtube_description(_str(fields.get("youtubeDescription"))), selection, platforms)
    if not (post["sharedCaption"] or post["youtubeTitle"] or post["youtubeDescription"]):
        return None
    return {"intentResult": intent, "mediaMetadata": media, "postFields": post,
            "editorialResult": {"type": None, "text": ""}}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def from_rules(req: dict[str, Any], playlists: list[metadata.Playlist]) -> dict[str, Any] | None:
    """Without a model: the rules' intent and metadata, and the text shaped into the fields when it is pasted
    metadata. None when the input asks for something to be written (a review, a caption for a title): only the
    model can write that."""
    text = normalized(str(req.get("requestText") or ""))
    intent = classify(text)
    media = media_from_text(text, intent["detectedTitle"])
    if intent["outputMode"] != "post_fields" or not intent["containsMetadata"]:
        return None
    platforms = [str(p) for p in req.get("selectedPlatforms") or []]
    return {"intentResult": intent, "mediaMetadata": media,
            "postFields": fields_from_text(text, platforms, playlists),
            "editorialResult": {"type": None, "text": ""}}
