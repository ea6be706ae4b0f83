"""Top-level MP4 atoms (`ftyp`, `moov`, `mdat`...) read from the file headers only.

`faststart` means `moov` comes before `mdat`: players and Instagram can start without the whole file.
"""

from __future__ import annotations

import struct
from typing import BinaryIO


def top_level_atoms(fh: BinaryIO, limit: int = 64) -> list[str]:
    names: list[str] = []
    fh.seek(0, 2)
    end = fh.tell()
    pos = 0
    while pos + 8 <= end and len(names) < limit:
        fh.seek(pos)
        header = fh.read(8)
        size, kind = struct.unpack(">I4s", header)
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
        elif size == 0:
            size = end - pos
        names.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return names


def is_faststart(atoms: list[str]) -> bool:
    return "moov" in atoms and "mdat" in atoms and atoms.index("moov") < atoms.index("mdat")


def file_is_faststart(path: str) -> bool:
    with open(path, "rb") as fh:
        return is_faststart(top_level_atoms(fh))
