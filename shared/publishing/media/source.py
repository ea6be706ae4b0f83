"""Read a media URL in order, from any offset, without holding the file in memory.

Every read goes through the SSRF guard (media/fetch.py) and stops at the size the server announced: a server
that ignores Range or keeps sending never makes us buffer or read more than the file."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx

from shared.publishing.engine.errors import BadContent, TransientBeforeSend
from shared.publishing.media.fetch import MediaFetcher, MediaRefused, count_capped

# the largest file any platform here takes (TikTok: 4 GB); only reached when a server sends no length at all
MAX_MEDIA_BYTES = 4 * 1024 * 1024 * 1024


class MediaSource:
    def __init__(self, url: str, fetcher: MediaFetcher | None = None):
        self.fetcher = fetcher or MediaFetcher()
        self.url = url
        self._size: int | None = None
        self._type: str | None = None

    def _head(self) -> None:
        try:
            # a one-byte ranged GET, not HEAD: presigned GET URLs are signed for GET only
            with self.fetcher.stream(self.url, {"Range": "bytes=0-0"}) as r:
                if r.status_code >= 400:
                    raise BadContent(f"media URL is not readable (HTTP {r.status_code}): {self.url[:200]}",
                                     status=r.status_code)
                total = r.headers.get("content-range", "").rpartition("/")[2]
                length = r.headers.get("content-length", "")
                if total.isdigit():
                    self._size = int(total)
                elif r.status_code == 200 and length.isdigit():
                    self._size = int(length)  # the server ignored Range; the body is not read
                else:
                    size = count_capped(r, MAX_MEDIA_BYTES)
                    if size is None:
                        raise BadContent(f"media is larger than {MAX_MEDIA_BYTES // 1024 ** 3} GB or never ends: "
                                         f"{self.url[:200]}")
                    self._size = size
                self._type = (r.headers.get("content-type") or "").split(";")[0].strip() or None
        except MediaRefused as exc:
            raise BadContent(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise TransientBeforeSend(f"could not read media: {type(exc).__name__}") from exc

    @property
    def size(self) -> int:
        if self._size is None:
            self._head()
        return self._size or 0

    @property
    def content_type(self) -> str | None:
        if self._size is None:
            self._head()
        return self._type

    def chunks(self, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """Exactly `chunk_size` bytes per chunk (the last may be shorter), starting at `start`, and never
        past the announced size."""
        remaining = max(0, self.size - start)
        headers = {"Range": f"bytes={start}-"} if start else {}
        buf = bytearray()
        try:
            with self.fetcher.stream(self.url, headers) as r:
                if r.status_code >= 400:
                    raise BadContent(f"media URL is not readable (HTTP {r.status_code})", status=r.status_code)
                skip = start if (start and r.status_code == 200) else 0  # server ignored Range
                for piece in r.iter_bytes():
                    if skip:
                        drop = min(skip, len(piece))
                        piece, skip = piece[drop:], skip - drop
                    piece = piece[:remaining]
                    remaining -= len(piece)
                    buf.extend(piece)
                    while len(buf) >= chunk_size:
                        yield bytes(buf[:chunk_size])
                        del buf[:chunk_size]
                    if remaining <= 0:
                        break
        except MediaRefused as exc:
            raise BadContent(str(exc)) from exc
        except httpx.HTTPError as exc:
            raise TransientBeforeSend(f"could not read media: {type(exc).__name__}") from exc
        if buf:
            yield bytes(buf)

    def read_all(self, limit: int = 64 * 1024 * 1024) -> bytes:
        if self.size > limit:
            raise BadContent("media is larger than expected for an image")
        out = bytearray()
        for c in self.chunks(1 << 20):
            out.extend(c)
            if len(out) > limit:
                raise BadContent("media is larger than expected for an image")
        return bytes(out)

    def as_file(self) -> StreamFile:
        """A file-like view for multipart uploads: httpx learns the length by seeking to the end, then reads
        sequentially, so the whole file never sits in memory."""
        return StreamFile(self)


class StreamFile(io.RawIOBase):
    def __init__(self, src: MediaSource, chunk: int = 1 << 20):
        self.src = src
        self.chunk = chunk
        self.pos = 0
        self._it: Iterator[bytes] | None = None
        self._buf = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = self.src.size + offset if whence == io.SEEK_END else offset
        if target != self.pos:
            self.pos, self._it, self._buf = target, None, b""
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.src.size:
            return b""
        if self._it is None:
            self._it = self.src.chunks(self.chunk, start=self.pos)
        want = self.src.size - self.pos if n is None or n < 0 else n
        while len(self._buf) < want:
            piece = next(self._it, b"")
            if not piece:
                break
            self._buf += piece
        out, self._buf = self._buf[:want], self._buf[want:]
        self.pos += len(out)
        return out
