"""Single presigned PUT or a multipart plan (pure).

B2 (S3 API): parts of 5 MB to 5 GB, at most 10,000 parts; the part size grows for huge files so the part
count stays under the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_PART = 5 * 1024 * 1024
MAX_PART = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10_000


@dataclass(frozen=True)
class UploadPlan:
    strategy: str          # "single" | "multipart"
    part_size: int | None
    part_count: int | None


def plan_upload(size: int, single_max: int, part_size: int) -> UploadPlan:
    if size <= 0:
        raise ValueError("size must be positive")
    if size <= single_max:
        return UploadPlan("single", None, None)
    part = max(MIN_PART, part_size, math.ceil(size / MAX_PARTS))
    part = min(part, MAX_PART)
    return UploadPlan("multipart", part, math.ceil(size / part))


def parts_are_complete(part_numbers: list[int], part_count: int) -> bool:
    """The client must report every part exactly once, 1..part_count."""
    return sorted(part_numbers) == list(range(1, part_count + 1))
