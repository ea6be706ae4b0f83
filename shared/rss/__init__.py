"""RSS automation: feeds become captioned, scheduled posts.

Pure rules (filters, identity, text length, schedule, backoff) live apart from the I/O adapters (fetcher,
parser, images, captions, repository, queue, poller). See docs/architecture/rss.md.
"""

from shared.publishing.engine.listeners import register as _register_settle_listener

# the engine tells RSS how each post it handed over ended, whichever worker settles it (no import cost here)
_register_settle_listener("rss", "shared.rss.queue:on_publication_settled")

from shared.publishing.staging.carriers import register as _register_carrier  # noqa: E402

# with PUBLISH_STAGING on, the staging window carries planned posts due within its horizon (no import cost here)
_register_carrier("rss", "shared.rss.queue:carry_ahead")
