"""Comment automation: fetch new comments on our own recent posts, filter them, reply with AI within caps.

    config.py     pure: the owner's comment settings, parsed once (enabled platforms, filters, caps, AI)
    filters.py    pure: why a comment gets no reply (blacklists, emoji-only, links, our own replies, old posts)
    caps.py       pure: how many replies a platform may get now (frequency, throttle, daily caps, quotas)
    compose.py    pure: the prompt and the clean-up every AI reply goes through
    readiness.py  pure: can a platform run, and if not, every reason why; the scopes it needs
    scopes.py     the extra OAuth scopes connecting asks for while comment automation is on
    switch.py     the flag (in the dispatcher's meta) that lets an idle poll return without touching the database
    mirror.py     the Redis copy of what a poll needs, and the peek that reads the platforms without the database
    timing.py     the dispatcher kinds: comments.poll (Redis only), comments.run and comments.sync (database)
    schedule.py   the poll's interval; the settings change hook
    repo.py       the comments / comment_poll_state / comment_usage tables
    fetch/        one reader per platform (I/O): new comments on our posts since the last poll
    replies/      one publishing-engine adapter per platform: the reply is a publication (never sent twice)
    service.py    the poll, one reply, the test reply, stats and readiness reports
    cleanup.py    retention (commentRetention) and the daily switch refresh

Replies settle through the publishing engine; it tells us the final state through a settle listener
(registered here, at no import cost) and the poll reconciles whatever a listener in another process missed.
"""

from shared.publishing.engine.listeners import register as _register_settle_listener

_register_settle_listener("comment", "shared.comments.service:on_reply_settled")
