"""Read a media URL in order, from any offset, without holding the file in memory."""

from __future__ import annotations

import io
from typing import Iterator

import httpx

from shared.publishing.engine.errors import TransientBeforeSend


class MediaSource:
    def __init__(self, client: httpx.Client, url: str):
        self.client = client
        self.url = url
        self._size: int | None = None
        self._type: str | None = None

    def _head(self) -> None:
        try:
            # a one-byte ranged GET, not HEAD: presigned GET URLs are signed for GET only
            with self.client.stream("GET", self.url, headers={"Range": "bytes=0-0"}, follow_redirects=True) as r:
                total = r.headers.get("content-range", "").rpartition("/")[2]
                if total.isdigit():
                    self._size = int(total)
                elif r.status_code == 200 and "content-length" in r.headers:
                    self._size = int(r.headers["content-length"])  # the server ignored Range
                else:
                    self._size = len(r.read())
            self._type = (r.headers.get("content-type") or "").split(";")[0].strip() or None
            if r.status_code >= 400:
                raise httpx.HTTPStatusError("media not readable", request=r.request, response=r)
        except httpx.HTTPStatusError as exc:
            from shared.publishing.engine.errors import BadContent

            raise BadContent(f"media URL is not readable (HTTP {exc.response.status_code}): {self.url[:200]}") \
                from exc
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
        """Exactly `chunk_size` bytes per chunk (the last may be shorter), starting at `start`."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        buf = bytearray()
        try:
            with self.client.stream("GET", self.url, headers=headers, follow_redirects=True) as r:
                if r.status_code >= 400:
                    from shared.publishing.engine.errors import BadContent

                    raise BadContent(f"media URL is not readable (HTTP {r.status_code})")
                skip = start if (start and r.status_code == 200) else 0  # server ignored Range
                for piece in r.iter_bytes():
                    if skip:
                        drop = min(skip, len(piece))
                        piece, skip = piece[drop:], skip - drop
                    buf.extend(piece)
                    while len(buf) >= chunk_size:
                        yield bytes(buf[:chunk_size])
                        del buf[:chunk_size]
        except httpx.HTTPError as exc:
            raise TransientBeforeSend(f"could not read media: {type(exc).__name__}") from exc
        if buf:
            yield bytes(buf)

    def read_all(self, limit: int = 64 * 1024 * 1024) -> bytes:
        out = bytearray()
        for c in self.chunks(1 << 20):
            out.extend(c)
            if len(out) > limit:
                from shared.publishing.engine.errors import BadContent

                raise BadContent("media is larger than expected for an image")
        return bytes(out)

    def as_file(self) -> "StreamFile":
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
