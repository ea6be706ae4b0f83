"""The Create (compose) page's workspace: drafts and scheduled posts, stored for the frontend and merged by item."""

from shared.publishing.engine.listeners import register as _register_settle_listener

# a scheduled post's platform that settles after its result was written (processing, unconfirmed) updates the item
# (shared/compose/late.py); no import cost here
_register_settle_listener("compose", "shared.compose.late:on_publication_settled")
