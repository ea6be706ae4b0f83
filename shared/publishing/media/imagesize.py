"""Image dimensions from the first bytes of a file (pure); the parsing lives in shared/media/image_header.py."""

from __future__ import annotations

from shared.media.image_header import sniff_image


def image_size(head: bytes) -> tuple[int, int] | None:
    info = sniff_image(head)
    return (info.width, info.height) if info else None
