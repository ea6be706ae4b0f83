"""Plain-text helpers shared by filters, identity and captions (pure).

What a follower reads must be text, whatever the feed sent:
- tags are stripped (the content of `<script>`, `<style>` and friends is dropped, not shown), attributes such as
  `onerror=` go with their tag;
- character references are decoded (`Google&#x27;s` -> `Google's`, `&#x0024;2150` -> `$2150`);
- feeds that escape their HTML twice (Reddit's Atom `&amp;lt;div class=&amp;quot;md&amp;quot;&amp;gt;`, news CMSs
  that escape a title already escaped) are decoded layer by layer until the visible text no longer looks like
  markup or references, then stripped;
- whitespace is collapsed.

A `<` that does not open markup ("I <3 trailers", "x < y") and a bare `&` ("AT&T") are text and stay. A mention
of a tag name in prose ("the <video> element") stays too: only closing tags, comments and tags with attributes
count as markup when deciding to decode another layer.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import ClassVar

_WS = re.compile(r"\s+")
# visible text that still carries a layer of markup: a closing tag, a comment, a tag with attributes, a line
# break, or a character reference (none of these is something a headline means to show)
_STILL_ENCODED = re.compile(
    r"</[a-zA-Z][a-zA-Z0-9]*\s*>|<!--|<[a-zA-Z][a-zA-Z0-9]*\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*\s*=|<br\s*/?>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});", re.IGNORECASE)
_MAX_LAYERS = 4  # real feeds escape at most twice; a bound keeps hostile input from looping
_SUPERSCRIPT = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")  # "1930ft<sup>2</sup>" -> "1930ft²"


class _TextExtractor(HTMLParser):
    _SKIP: ClassVar[frozenset[str]] = frozenset({
        "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head",
             "title", "textarea", "select"})
    _BLOCK: ClassVar[frozenset[str]] = frozenset({
        "p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "blockquote",
              "figure", "figcaption", "section", "article", "table", "ul", "ol", "hr", "pre", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._sup = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")
        elif tag == "sup":
            self._sup += 1

    def handle_startendtag(self, tag, attrs):
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            if self._skip:
                self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append(" ")
        elif tag == "sup" and self._sup:
            self._sup -= 1

    def handle_data(self, data):
        if self._skip:
            return
        if self._sup and len(data) <= 4 and all(c in "0123456789+-=()n" for c in data):
            data = data.translate(_SUPERSCRIPT)
        self.parts.append(data)


def _strip_once(text: str) -> str:
    p = _TextExtractor()
    try:
        p.feed(text)
        p.close()
        return "".join(p.parts)
    except Exception:  # malformed markup: fall back to a crude tag strip
        return html.unescape(re.sub(r"<[^>]*>", " ", text))


def strip_html(text: str | None) -> str:
    """Visible text of an HTML fragment (or of one escaped more than once), whitespace collapsed. Plain text
    passes through unchanged."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return _WS.sub(" ", text).strip()
    out = text
    for _ in range(_MAX_LAYERS):
        out = _strip_once(out)
        if ("<" not in out and "&" not in out) or not _STILL_ENCODED.search(out):
            break
    return _WS.sub(" ", out).strip()


_ESCAPED_TAG = re.compile(r"</[a-zA-Z][a-zA-Z0-9]*\s*>|<!--"
                          r"|<[a-zA-Z][a-zA-Z0-9]*\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*\s*=|<br\s*/?>"
                          r"|<(?:p|div|span|a|b|i|em|strong|ul|ol|li|img|table)\b|&lt;/?[a-zA-Z!]")


def unescape_markup_layers(fragment: str | None) -> str:
    """HTML whose markup arrived escaped once too often (its visible text shows tags) with those extra layers
    undone, so sanitising and showing it renders the markup instead of printing it. Real HTML is unchanged."""
    if not fragment or "&" not in fragment:
        return fragment or ""
    out = fragment
    for _ in range(_MAX_LAYERS):
        if not _ESCAPED_TAG.search(_strip_once(out)):
            break
        out = html.unescape(out)
    return out


def clean_title(raw: str | None, *, is_html: bool = True) -> str:
    """A headline as text: what is stored in rss_items.title and shown everywhere (same rules as `strip_html`).

    `is_html=False` for a title the feed declares plain text (Atom `type="text"`, or an RSS title feedparser
    found no markup in): a lone `<video>` there is a word, not a tag, and is kept; references left in it (a
    second escaping layer, like Reddit's `ETF&#39;s`) are still decoded, and real markup (closing tags,
    attributes) from a sloppy publisher is still stripped."""
    if not raw:
        return ""
    if not is_html and "<" in raw and not _STILL_ENCODED.search(raw):
        raw = raw.replace("<", "&lt;").replace(">", "&gt;")
    return strip_html(raw)


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
