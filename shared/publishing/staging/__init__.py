"""Pre-staged posts: planned single-request posts prepared in Redis while the database is awake, sent at their
time without waking it, and written back in the next awake window (docs/architecture/usage.md, "Pre-staging
posts"; the protocol's states are in record.py).

    stage.py      in a window: planned -> staged (Postgres, fenced by a stage token) + the Redis record
    send.py       at the slot, Redis only: claim, sending, the platform call, the outcome
    writeback.py  in a window: outcomes -> the engine's settles; expired stages back to planned; the rest by look-up
    timing.py     the dispatcher's kinds (the send at the slot; the window's write-back and staging)
    owner.py      owner changes and connection changes: cancel a stage first (409 when it is being sent)
"""
