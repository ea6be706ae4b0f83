"""TMDb automation: release-day, weekly, monthly and anniversary posts, found, filtered, captioned and posted.

Pure rules (modules, candidate, filters, scoring, slots, captions, settings, ledger.recent_block) live apart from
the I/O adapters (client, cache, ratelimit, repo, images, caption_service) and the orchestration (discovery,
service, dispatch, delivery, retention). See docs/architecture/tmdb.md.
"""

from shared.publishing.engine.listeners import register as _register_settle_listener

# the engine tells TMDb how each post it handed over ended, whichever worker settles it (no import cost here)
_register_settle_listener("tmdb", "shared.tmdb.delivery:on_publication_settled")

from shared.publishing.staging.carriers import register as _register_carrier  # noqa: E402

# with PUBLISH_STAGING on, the staging window carries scheduled posts due within its horizon (no import cost here)
_register_carrier("tmdb", "shared.tmdb.delivery:carry_ahead")
