"""Does an object's first bytes match its declared type? (pure; catches `notes.txt` renamed `trailer.mp4`
before a worker ever downloads it)"""

from __future__ import annotations

from shared.media.keys import media_family

SNIFF_BYTES = 64


def detect(head: bytes) -> str | None:
    """A coarse container name from magic bytes, or None when unknown."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "isobmff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
                                   and head[1] & 0x06 != 0):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "adts"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"8BPS"):
        return "psd"
    return None


_ACCEPTS = {
    "video": {"isobmff", "matroska"},
    "audio": {"isobmff", "matroska", "wav", "mp3", "adts", "ogg"},
    "image": {"jpeg", "png", "gif", "webp"},
}


def sniff_problem(content_type: str, head: bytes) -> str | None:
    """None when the bytes plausibly are the declared kind; otherwise a readable reason."""
    family = media_family(content_type)
    if family not in _ACCEPTS:
        return None
    if not head:
        return "the file is empty"
    found = detect(head)
    if found in _ACCEPTS[family]:
        return None
    what = f"a {found} file" if found else "not a recognised media file"
    return f"the file was declared as {content_type} but its content is {what}"
