"""The reply adapters: a comment reply is a publication of target `<platform>_comment_reply`, posted through the
publishing engine like any post (idempotency key, claim, checkpoint before the request, look-up after a lost
answer). Each module's `ADAPTER` implements shared/publishing/adapters/base.Adapter: `publish` sends the reply
(the commit) and `lookup` finds our reply among the comment's replies. The engine picks them by target
(shared/publishing/adapters/__init__.py)."""

TARGETS = {f"{p}_comment_reply": p for p in ("x", "threads", "facebook", "instagram", "youtube")}
