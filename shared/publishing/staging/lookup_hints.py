"""What a look-up needs to find a staged post whose Redis record was lost (pure), saved on the row when it is
staged (the database is awake then; at the send it is not).

The staged sender records `text_key` and `commit_at` in the Redis record only; if Redis loses the record, the
write-back knows neither. These hints are the same keys as the adapters' own checkpoints (`text_key`, `kind`),
with the send's time known only as a range: from the slot (`commit_at`) to the end of its grace (`commit_by`),
which adapters/base.window() widens the search to. A look-up that needs a platform id only the sender saw
(a Threads container) still cannot decide: the post stays unconfirmed, as before.
"""

from __future__ import annotations

from typing import Any

from shared.publishing.adapters.base import Content, post_text, text_key


def lookup_hints(target: str, content: Content, slot: float, send_by: float) -> dict[str, Any]:
    if target == "pinterest":
        from shared.publishing.adapters.pinterest import pin_text

        text = pin_text(content)
    else:  # X, Threads and Facebook page posts send post_text() (adapters/x.py, threads.py, facebook.py)
        text = post_text(target, content)
    hints: dict[str, Any] = {"text_key": text_key(text), "commit_at": slot, "commit_by": send_by}
    if target in ("facebook", "facebook_feed"):  # its look-up searches by kind (videos are never staged)
        hints["kind"] = "photo" if len(content.image_urls) == 1 else "feed"
    return hints
