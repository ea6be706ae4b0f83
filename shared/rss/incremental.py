"""Parse only what changed since the last fetch of a feed (the tick's CPU is feedparser's).

A steady-state fetch returns the same 50 items as last time plus one: feedparser re-reading the 49 known ones
is most of a tick's CPU. So, per fetched body:

1. `scan`: one pass of expat (C, ~1/60 of feedparser's time) finds each item's byte span, its guid and the
   item's *context* (prolog, root and channel start tags: encoding, namespaces, xml:base, entities) plus the
   response's Content-Type and URL, i.e. everything besides the item's own bytes that feedparser's reading of
   it depends on.
2. Each item's digest is blake2b(context + item bytes). An item whose digest was recorded at the last
   successful fetch was parsed and stored then: byte-identical input in the same context parses the same.
3. `subset_document`: the document with only the changed/new items spliced back between the original head and
   tail, which feedparser parses as usual. Entries keep their position in the full document.
4. A body whose digest equals the last one is "not modified" (servers that ignore conditional GET).

Anything the scan cannot vouch for falls back to the full parse: a document expat rejects (feedparser's loose
parser may still read it), an encoding expat does not know, items that share a guid (identity then depends
on the whole document, see `pipeline._entry_rows`), a first fetch (every item is stored), a manual run.
Equivalence with the full parse is tested item by item on real-world-shaped feeds
(tests/test_rss_incremental_parse.py).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
DIGEST_BYTES = 8  # per item: collisions among a feed's ~50 items are negligible at 64 bits
ITEM_NAMES = ("item", "entry")


def _digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.digest()


def body_digest(body: bytes, content_type: str, url: str) -> bytes:
    return _digest(content_type.encode(), url.encode(), body)


@dataclass(frozen=True)
class ItemSpan:
    start: int  # byte offset of '<' of the start tag
    end: int  # byte offset just past the end tag's '>'
    guid: str | None
    digest: bytes


@dataclass(frozen=True)
class Scan:
    items: tuple[ItemSpan, ...]
    head_end: int  # the first item's start
    tail_start: int  # just past the last item

    @property
    def digests(self) -> bytes:
        return b"".join(i.digest for i in self.items)

    def duplicate_guids(self) -> bool:
        guids = [i.guid for i in self.items if i.guid]
        return len(guids) != len(set(guids))


@dataclass
class Memory:
    """What the next fetch of a feed compares against (stored in `rss_parse_memory`)."""

    body: bytes | None = None
    items: frozenset[bytes] = field(default_factory=frozenset)

    @staticmethod
    def decode(body: bytes | None, items: bytes | None) -> Memory:
        blob = bytes(items or b"")
        return Memory(bytes(body) if body else None,
                      frozenset(blob[i:i + DIGEST_BYTES] for i in range(0, len(blob), DIGEST_BYTES)))


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _tag_end(body: bytes, start: int) -> int:
    """Offset just past the '>' closing the tag that starts at `start` (quotes may hold '>')."""
    quote = 0
    i = start
    n = len(body)
    while i < n:
        c = body[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x3E:
            return i + 1
        i += 1
    raise ValueError("unterminated tag")


def scan(body: bytes, content_type: str = "", url: str = "") -> Scan | None:
    """Item spans and digests, or None when the document is not one the splice can reproduce exactly."""
    import xml.parsers.expat

    if b"\x00" in body[:4]:
        return None  # UTF-16/32: expat's byte offsets would not line up with the tag search below
    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True
    stack: list[str] = []
    context: list[bytes] = [content_type.encode(), url.encode()]
    items: list[ItemSpan] = []
    state: dict[str, Any] = {"item_start": -1, "item_depth": 0, "guid": None, "about": None, "capture": None,
                             "text": [], "permalink": False, "bad": False}

    def start(name: str, attrs: dict) -> None:
        depth = len(stack)
        local = _local(name)
        pos = parser.CurrentByteIndex
        if state["item_start"] < 0:
            if local in ITEM_NAMES and (depth == 1 or (depth == 2 and _local(stack[1]) == "channel")):
                state.update(item_start=pos, item_depth=depth, guid=None, about=attrs.get("rdf:about"),
                             capture=None)
            elif depth <= 1 or (depth == 2 and _local(stack[1]) == "channel" and not items):
                # the root and the channel carry what an item's reading inherits (namespaces, xml:base, lang)
                if depth == 0:
                    context.append(body[:pos])  # prolog: XML declaration, doctype and its entities
                context.append(repr((name, sorted(attrs.items()))).encode())
            elif items:
                state["bad"] = True  # something between or after items at item level: cannot splice blindly
        elif depth == state["item_depth"] + 1 and local in ("guid", "id") and state["guid"] is None:
            state["capture"], state["text"] = depth, []
            # feedparser resolves a relative permalink guid against the document's base; two such guids may
            # then collide in ways this scan cannot see, so such documents are parsed whole
            state["permalink"] = local == "guid" and attrs.get("isPermaLink", "true").lower() != "false"
        stack.append(name)

    def end(name: str) -> None:
        stack.pop()
        depth = len(stack)
        if state["capture"] == depth and state["item_start"] >= 0:
            state["guid"] = "".join(state["text"]).strip() or None
            state["capture"] = None
            if state["guid"] and state["permalink"] and not _ABSOLUTE.match(state["guid"]):
                state["bad"] = True
        if state["item_start"] >= 0 and depth == state["item_depth"]:
            close = _tag_end(body, parser.CurrentByteIndex) if body[parser.CurrentByteIndex:
                                                                    parser.CurrentByteIndex + 2] == b"</" \
                else _tag_end(body, state["item_start"])  # <item/>
            items.append(ItemSpan(state["item_start"], close, state["guid"] or state["about"],
                                  b""))  # digest filled in below, once the context is complete
            state["item_start"] = -1

    def text(data: str) -> None:
        if state["capture"] is not None:
            state["text"].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(body, True)
    except (xml.parsers.expat.ExpatError, ValueError, LookupError):
        return None
    if state["bad"] or not items:
        return None
    for a, b in itertools.pairwise(items):
        gap = body[a.end:b.start]
        if gap.strip() and b"<!--" not in gap:  # only whitespace (or comments) may sit between items
            return None
    ctx = _digest(*context)
    spans = tuple(ItemSpan(i.start, i.end, i.guid, _digest(ctx, body[i.start:i.end])) for i in items)
    return Scan(spans, spans[0].start, spans[-1].end)


def subset_document(body: bytes, found: Scan, keep: list[int]) -> bytes:
    """The document with only the items at `keep` (indices into `found.items`), head and tail unchanged."""
    parts = [body[:found.head_end]]
    parts += [body[found.items[i].start:found.items[i].end] for i in keep]
    parts.append(body[found.tail_start:])
    return b"".join(parts)


def changed_items(found: Scan, memory: Memory, limit: int) -> list[int]:
    """Indices (within the first `limit` items) whose digest was not seen at the last fetch."""
    return [i for i, item in enumerate(found.items[:limit]) if item.digest not in memory.items]


# --- the parse step of a fetch ----------------------------------------------------------------------------

def parse_changed(body: bytes, *, content_type: str, url: str, memory: Memory | None, limit: int,
                  incremental: bool):
    """The fetched document as a ParsedFeed holding only entries not seen at the last fetch (positions as in the
    full document), or None when the body is byte-identical to last time. `incremental=False` (a first fetch,
    a manual run) parses everything; the digests for the next fetch are attached either way."""
    from shared.rss.parser import ParsedFeed, parse_feed

    whole = body_digest(body, content_type, url)
    if incremental and memory is not None and memory.body == whole:
        return None
    found = scan(body, content_type, url)
    usable = found is not None and not found.duplicate_guids()
    if not (incremental and usable and found is not None and memory is not None):
        parsed = parse_feed(body, content_type=content_type, url=url)
        if usable and found is not None:
            parsed.memory = (whole, b"".join(i.digest for i in found.items[:limit]))
        else:
            parsed.memory = (whole, b"")
        return parsed
    keep = changed_items(found, memory, limit)
    remember = (whole, b"".join(i.digest for i in found.items[:limit]))
    if not keep:
        return ParsedFeed(title="", link=None, description="", image=None, entries=[], version="",
                          document_entries=len(found.items), memory=remember)
    parsed = parse_feed(subset_document(body, found, keep), content_type=content_type, url=url)
    guids = [found.items[keep[e.position]].guid if e.position < len(keep) else "?" for e in parsed.entries]
    if len(parsed.entries) > len(keep) or any((g or None) != (e.guid or None) for g, e in zip(guids, parsed.entries)):
        # feedparser read the spliced document differently than the scan did: trust the full parse
        parsed = parse_feed(body, content_type=content_type, url=url)
        parsed.memory = (whole, b"")
        return parsed
    for e in parsed.entries:
        e.position = keep[e.position]
    parsed.document_entries = len(found.items)
    parsed.memory = remember
    return parsed


# --- storage (one row per feed, written in the same transaction as the fetch's items) ----------------------

def load(feed_id: str) -> Memory | None:
    from shared.db import connection

    with connection() as conn:
        row = conn.execute("SELECT body_digest, item_digests FROM rss_parse_memory WHERE feed_id = %s",
                           (feed_id,)).fetchone()
    return Memory.decode(row["body_digest"], row["item_digests"]) if row else None


def save(conn, feed_id: str, body: bytes | None, items: bytes) -> None:
    conn.execute(
        "INSERT INTO rss_parse_memory (feed_id, body_digest, item_digests) VALUES (%s, %s, %s) "
        "ON CONFLICT (feed_id) DO UPDATE SET body_digest = EXCLUDED.body_digest, "
        "item_digests = EXCLUDED.item_digests, updated_at = now()", (feed_id, body, items))
