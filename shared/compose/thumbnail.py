"""Rendering the Create page's generated thumbnails (frontend-contract §1.9 `compose-thumbnail`): a picture (TMDb's
backdrop or poster of the title, or a drawn title card when there is none) cut to the platform's frame, darkened
where the text goes, and the title written on it, encoded as JPEG.

Frames: YouTube 1280x720 (16:9, YouTube's recommended custom-thumbnail size, under 2 MB:
https://support.google.com/youtube/answer/72431), X 1280x720 (the landscape frame the peer backend renders for X
too), and `shared` 1080x1920: the 9:16 cover the page uses for Facebook, Instagram and TikTok videos
("Shared thumbnail is used for Facebook, Instagram, and TikTok", ComposeEditorPage.tsx; the peer renders the
poster at 1080x1920).

The owner's saved `thumbnailConfig_youtube` / `_x` (frontend-contract §settings: `{platform, logoPosition,
autoScale, maxLogoSize, autoContrastBackdrop, autoContrastOverlay}`, plus the peer's `showTrailerTypeText` and
`trailerTextSize`) place and size the title block: we write the title as text where the peer pastes TMDb's logo
image, so every title gets a thumbnail, logo or not. Pillow does the drawing (docs/ARCHITECTURE.md, dependency
table: why Pillow and not the worker's ffmpeg); it is imported here only, on the first thumbnail.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

FRAMES = {"youtube": (1280, 720), "x": (1280, 720), "shared": (1080, 1920)}
MAX_BYTES = 2 * 1024 * 1024  # YouTube's custom-thumbnail limit; the others take more
POSITIONS = ("top-left", "top-center", "top-right", "center-left", "center", "center-right", "bottom-left",
             "bottom-center", "bottom-right")
BRAND_RED = (236, 30, 36)  # the SPA's accent (#ec1e24)
_KICKER = re.compile(r"(?:^|[\s|:–—-])((?:official\s+|final\s+|new\s+|first\s+|teaser\s+|main\s+)*"
                     r"(?:trailer|teaser|clip|featurette|first look|sneak peek|tv spot|announcement))\b.*$",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Layout:
    position: str
    auto_scale: bool
    max_width_pct: int  # of the frame's width the title block may take
    contrast_backdrop: bool  # darken the picture toward the text
    contrast_overlay: bool  # a translucent box behind the text
    show_kicker: bool  # "OFFICIAL TRAILER" above the title
    kicker_size: int


DEFAULTS = {"youtube": Layout("bottom-left", True, 60, True, False, True, 32),
            "x": Layout("bottom-left", True, 60, True, False, True, 32),
            "shared": Layout("bottom-center", True, 86, True, False, True, 44)}


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    return default


def _int(value: Any, default: int, lo: int, hi: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return int(min(hi, max(lo, number))) if number == number else default  # NaN keeps the default


def layout_source(config: Any) -> dict[str, Any] | None:
    """A saved or sent config as a dict: the settings store may hold it as its JSON string (frontend-contract
    §settings); anything else is no config."""
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            return None
    return config if isinstance(config, dict) else None


def layout(kind: str, config: Any) -> Layout:
    """The owner's config over the defaults; unknown or out-of-range values keep the default. `shared` has no
    saved config: the SPA sends none for it."""
    base = DEFAULTS[kind]
    config = layout_source(config)
    if config is None:
        return base
    position = config.get("logoPosition")
    return Layout(position if position in POSITIONS else base.position,
                  _bool(config.get("autoScale"), base.auto_scale),
                  # maxLogoSize is a logo's share of the width; a title of words needs more: 40 % reads as 60 %
                  min(95, _int(config["maxLogoSize"], 0, 10, 90) + 20)
                  if _int(config.get("maxLogoSize"), 0, 10, 90) else base.max_width_pct,
                  _bool(config.get("autoContrastBackdrop"), base.contrast_backdrop),
                  _bool(config.get("autoContrastOverlay"), base.contrast_overlay),
                  _bool(config.get("showTrailerTypeText"), base.show_kicker),
                  _int(config.get("trailerTextSize"), base.kicker_size, 12, 96))


def split_title(title: str) -> tuple[str, str]:
    """('Dune: Part Three', 'OFFICIAL TRAILER') from 'Dune: Part Three | Official Trailer'; the kicker is ''
    when the title names no kind of video."""
    text = " ".join((title or "").split())
    m = _KICKER.search(text)
    if not m or m.start(1) == 0:
        return text.strip(" |:–—-"), ""
    return text[:m.start()].strip(" |:–—-,"), " ".join(m.group(1).split()).upper()


def file_stem(title: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")[:60].strip("-")
    return stem or "thumbnail"


# --- drawing ----------------------------------------------------------------------------------------------------------

def _cover(image, size: tuple[int, int]):
    """Scale to fill the frame and cut the overflow from the centre (CSS `object-fit: cover`)."""
    from PIL import Image

    w, h = size
    scale = max(w / image.width, h / image.height)
    resized = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))),
                           Image.Resampling.LANCZOS)
    left, top = (resized.width - w) // 2, (resized.height - h) // 2
    return resized.crop((left, top, left + w, top + h))


def _title_card(size: tuple[int, int]):
    """No picture: a dark diagonal gradient with a red glow and a rule, so the card is never one flat colour."""
    from PIL import Image, ImageDraw, ImageFilter

    w, h = size
    gradient = Image.linear_gradient("L").rotate(35, expand=True).resize(size)
    dark = Image.new("RGB", size, (10, 10, 14))
    warm = Image.new("RGB", size, (58, 10, 14))
    card = Image.composite(warm, dark, gradient)
    glow = Image.new("L", size, 0)
    ImageDraw.Draw(glow).ellipse((int(w * 0.55), int(-h * 0.25), int(w * 1.25), int(h * 0.55)), fill=140)
    card = Image.composite(Image.new("RGB", size, BRAND_RED), card, glow.filter(ImageFilter.GaussianBlur(w // 8)))
    ImageDraw.Draw(card).rectangle((0, 0, max(6, w // 160), h), fill=BRAND_RED)
    return card


def _darken(image, position: str):
    """A transparent-to-black ramp toward the text's edge, so white type reads on a bright backdrop."""
    from PIL import Image

    w, h = image.size
    ramp = Image.linear_gradient("L")  # 256x256, black at the top, white at the bottom
    if position.startswith("top"):
        ramp = ramp.rotate(180)
    elif position.startswith("center"):
        ramp = Image.new("L", (256, 256), 110)
    mask = ramp.resize((w, h)).point(lambda v: int(v * 0.78))
    return Image.composite(Image.new("RGB", (w, h), (0, 0, 0)), image, mask)


def _font(size: int):
    from PIL import ImageFont

    # Pillow's built-in scalable face (Aileron, FreeType): nothing to ship or find on the function's disk
    return ImageFont.load_default(size=size)


def _wrap(draw, text: str, font, max_width: int, max_lines: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= max_width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        while last and draw.textlength(last + "…", font=font) > max_width:
            last = last[:-1]
        kept[-1] = last.rstrip() + "…"
        return kept
    return lines


def _fit(draw, text: str, max_width: int, start: int, auto_scale: bool, max_lines: int):
    """The largest size (from `start` down) whose wrapped lines each fit the width; a fixed size when the owner
    turned auto-scale off."""
    size = start
    while True:
        font = _font(size)
        lines = _wrap(draw, text, font, max_width, max_lines)
        widest = max((draw.textlength(line, font=font) for line in lines), default=0)
        if not auto_scale or size <= 18 or (widest <= max_width and len(lines) <= max_lines and
                                             not lines[-1].endswith("…")):
            return font, lines
        size = int(size * 0.9)


def render(kind: str, title: str, kicker: str, layout_: Layout, picture: bytes | None) -> bytes:
    """The thumbnail as JPEG bytes: the picture (any format Pillow reads) or a title card, the title on top."""
    from PIL import Image, ImageDraw, ImageOps

    size = FRAMES[kind]
    w, h = size
    if picture is not None:
        with Image.open(io.BytesIO(picture)) as src:
            base = _cover(ImageOps.exif_transpose(src).convert("RGB"), size)
    else:
        base = _title_card(size)
    if layout_.contrast_backdrop:
        base = _darken(base, layout_.position)
    margin = round(min(w, h) * 0.07)
    block_w = min(w - 2 * margin, round(w * layout_.max_width_pct / 100))
    draw = ImageDraw.Draw(base, "RGBA")
    font, lines = _fit(draw, title, block_w, round(h * (0.075 if kind == "shared" else 0.13)),
                       layout_.auto_scale, 3 if kind == "shared" else 2)
    kicker_font = _font(round(layout_.kicker_size * (w / 1280 if kind != "shared" else 1)))
    show_kicker = bool(kicker) and layout_.show_kicker
    line_h = round(font.size * 1.12)
    kicker_h = round(kicker_font.size * 1.5) if show_kicker else 0
    text_w = max([draw.textlength(x, font=font) for x in lines] +
                 [draw.textlength(kicker, font=kicker_font) if show_kicker else 0])
    text_h = kicker_h + line_h * len(lines)
    row, col = layout_.position.split("-")[0], ([*layout_.position.split("-"), "center"])[1]
    if layout_.position == "center":
        row, col = "center", "center"
    x = {"left": margin, "center": (w - text_w) / 2, "right": w - margin - text_w}[col]
    y = {"top": margin, "center": (h - text_h) / 2, "bottom": h - margin - text_h}[row]
    if layout_.contrast_overlay:
        pad = round(margin * 0.4)
        draw.rounded_rectangle((x - pad, y - pad, x + text_w + pad, y + text_h + pad), radius=pad,
                               fill=(0, 0, 0, 150))
    if show_kicker:
        draw.text((x, y), kicker, font=kicker_font, fill=(*BRAND_RED, 255),
                  stroke_width=max(1, kicker_font.size // 24), stroke_fill=(*BRAND_RED, 255))
        y += kicker_h
    for line in lines:
        lx = {"left": x, "center": x + (text_w - draw.textlength(line, font=font)) / 2,
              "right": x + text_w - draw.textlength(line, font=font)}[col]
        # a thin stroke in the fill colour thickens the regular face into a headline weight
        draw.text((lx, y), line, font=font, fill=(255, 255, 255, 255), stroke_width=max(1, font.size // 28),
                  stroke_fill=(255, 255, 255, 255))
        y += line_h
    for quality in (88, 80, 70, 60):
        out = io.BytesIO()
        base.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        if out.tell() <= MAX_BYTES:
            break
    return out.getvalue()
