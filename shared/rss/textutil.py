"""Plain-text helpers shared by filters, identity and captions (pure)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_WS = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template"}
    _BLOCK = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "figure"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def strip_html(text: str | None) -> str:
    """Visible text of an HTML fragment, whitespace collapsed. Plain text passes through unchanged."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return _WS.sub(" ", text).strip()
    p = _TextExtractor()
    try:
        p.feed(text)
        p.close()
        out = "".join(p.parts)
    except Exception:  # malformed markup: fall back to a crude tag strip
        out = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return _WS.sub(" ", out).strip()


def summarize(text: str, max_chars: int = 200) -> str:
    """First sentence(s) up to max_chars, cut at a word boundary."""
    text = _WS.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    dot = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if dot >= max_chars // 2:
        return cut[: dot + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(",;:-— ") + "…"
