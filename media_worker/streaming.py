"""Upload an MP4 rendition while ffmpeg is still writing it.

ffmpeg writes the rendition without `+faststart` (see shared/media/ffmpeg/faststart.py): its samples land on disk
in order and never change, so a thread uploads them as multipart parts as soon as each 8 MB is on disk. When
ffmpeg exits, the rest of the samples and part 1 (ftyp + the shifted moov + the mdat header + the first
samples) go up, and the upload is completed only after the rendition passed its checks. The stored object is
byte for byte what `-movflags +faststart` would have written, without ffmpeg's second pass over the file and
without uploading the whole file after the encode.

Memory: one part (5 MB) per rendition in flight, two at the end. A cancel, a failed check or any error aborts the
multipart upload; an upload left by a killed worker is aborted by the next attempt before it starts its own (and B2's
lifecycle rule cancels unfinished uploads after a day).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from pathlib import Path

from shared.media.ffmpeg.faststart import LayoutError, read_layout, shift_chunk_offsets

logger = logging.getLogger("screndly.media_worker.streaming")

PART = 5 << 20  # parts 2.. (S3/B2: every part but the last >= 5 MB; the smallest leaves the least for the end)
FIRST_SAMPLES = 5 << 20  # samples carried by part 1, which is uploaded last (it starts with the final moov)


def abort_stale_uploads(storage, key: str) -> None:
    """A crashed earlier attempt may have left an unfinished multipart upload on this very key."""
    for upload in storage.list_multipart_uploads(prefix=key):
        if upload.get("Key") == key:
            storage.abort_multipart_upload(key, upload["UploadId"])


class RenditionUpload:
    def __init__(self, storage, path: Path, key: str, content_type: str, poll: float = 0.2):
        self.storage = storage
        self.path = Path(path)
        self.key = key
        self.content_type = content_type
        self.poll = poll
        self.upload_id: str | None = None
        self.etags: dict[int, str] = {}
        self.payload_start: int | None = None
        self.sent = FIRST_SAMPLES  # samples before this offset belong to part 1
        self.error: BaseException | None = None
        self._encoded = threading.Event()
        self._aborted = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- during the encode ---------------------------------------------------------------------------
    def start(self) -> RenditionUpload:
        """Returns at once: the storage calls happen on the upload's own thread, off the encode's path."""
        self._thread = threading.Thread(target=self._follow, name=f"upload-{self.path.name}", daemon=True)
        self._thread.start()
        return self

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _find_payload(self, size: int) -> None:
        with open(self.path, "rb") as fh:
            head = fh.read(64)
        if len(head) < 8:
            return
        ftyp_size, kind = struct.unpack_from(">I4s", head, 0)
        if kind != b"ftyp" or len(head) < ftyp_size + 16:
            if kind != b"ftyp":
                raise LayoutError("the rendition does not start with ftyp")
            return
        nxt = head[ftyp_size:ftyp_size + 16]
        if nxt[4:8] != b"free" or struct.unpack_from(">I", nxt, 0)[0] != 8 or nxt[12:16] != b"mdat":
            raise LayoutError("unexpected boxes after ftyp")
        self.payload_start = ftyp_size + 16

    def _send(self, number: int, data: bytes) -> None:
        resp = self.storage.client.upload_part(Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id,
                                               PartNumber=number, Body=data)
        with self._lock:
            self.etags[number] = resp["ETag"]

    def _send_samples(self, upto: int) -> None:
        """Upload whole parts of samples below `upto` (a samples offset that is already final on disk)."""
        if self.payload_start is None:
            raise LayoutError("the samples' start is not known yet")
        with open(self.path, "rb") as fh:
            while self.sent + PART <= upto and not self._aborted.is_set():
                fh.seek(self.payload_start + self.sent)
                data = fh.read(PART)
                self._send(2 + (self.sent - FIRST_SAMPLES) // PART, data)
                self.sent += PART

    def _follow(self) -> None:
        try:
            abort_stale_uploads(self.storage, self.key)
            if self._aborted.is_set():
                return
            self.upload_id = self.storage.create_multipart_upload(self.key, self.content_type)
            while not self._aborted.is_set():
                done = self._encoded.is_set()  # read before the size: everything on disk then is final
                size = self._size()
                if self.payload_start is None and size:
                    self._find_payload(size)
                if self.payload_start is not None and not done:
                    self._send_samples(size - self.payload_start)
                if done:
                    return
                self._encoded.wait(self.poll)
        except BaseException as exc:  # reported by finish(); the caller falls back to a plain upload
            self.error = exc

    # --- after the encode ----------------------------------------------------------------------------
    def finish_parts(self) -> None:
        """ffmpeg has exited: upload the remaining samples and part 1. Raises on any problem (abort follows)."""
        self._encoded.set()
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as fh:
            layout = read_layout(fh, size)
            if self.payload_start is not None and layout.samples[0] != self.payload_start:
                raise LayoutError("the samples moved")
            self.payload_start = layout.samples[0]
            total = layout.samples[1]
            self._send_samples(total)
            payload_start = layout.samples[0]
            fh.seek(layout.moov[0])
            moov = shift_chunk_offsets(fh.read(layout.moov[1]), layout.moov[1])
            fh.seek(layout.ftyp[0])
            first = fh.read(layout.ftyp[1]) + moov
            fh.seek(layout.header[0])
            first += fh.read(layout.header[1]) + fh.read(min(FIRST_SAMPLES, total))
            last = None
            if total > self.sent:  # the last, short part
                fh.seek(payload_start + self.sent)
                last = (2 + (self.sent - FIRST_SAMPLES) // PART, fh.read(total - self.sent))
        # the two parts left after the encode go up side by side
        side = threading.Thread(target=self._send_capturing, args=last, daemon=True) if last else None
        if side is not None:
            side.start()
        self._send(1, first)
        if side is not None:
            side.join()
            if self.error is not None:
                raise self.error
        self.stored_size = size

    def _send_capturing(self, number: int, data: bytes) -> None:
        try:
            self._send(number, data)
        except BaseException as exc:
            self.error = exc

    def complete(self) -> None:
        parts = [{"PartNumber": n, "ETag": e} for n, e in sorted(self.etags.items())]
        self.storage.complete_multipart_upload(self.key, self.upload_id, parts)

    def abort(self) -> None:
        self._aborted.set()
        self._encoded.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if self.upload_id is not None:
            try:
                self.storage.abort_multipart_upload(self.key, self.upload_id)
            except Exception as exc:  # B2's lifecycle rule removes it within a day
                logger.warning("could not abort the upload of %s: %s", self.key, type(exc).__name__)
            self.upload_id = None
