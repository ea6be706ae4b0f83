"""What the reply adapters share: the comment answered, and the mark that lets a look-up recognise our reply."""

from __future__ import annotations

from shared.comments.text import strip_leading_mentions
from shared.publishing.adapters.base import PublishContext, text_key
from shared.publishing.engine.errors import BadContent


def comment_id(ctx: PublishContext) -> str:
    to = ctx.content.reply_to
    if not to:
        raise BadContent("a comment reply needs the id of the comment it answers (replyToId)")
    return to


def mark_sent(ctx: PublishContext, text: str) -> None:
    """Checkpoint before the reply request: after a lost answer the look-up searches for this text."""
    ctx.save(commit_sent=True, text_key=reply_key(text), reply_to=comment_id(ctx))


def reply_key(text: str | None) -> str:
    # X prefixes the handles a reply answers; the other platforms return the text as sent
    return text_key(strip_leading_mentions(text or ""))


def is_ours(ctx: PublishContext, text: str | None) -> bool:
    want = ctx.progress.get("text_key")
    return bool(want) and reply_key(text) == want
