"""The OAuth scopes connecting a platform asks for on top of publishing's, while comment replies are on for it.

`shared/publishing/connections/providers.py` calls `connect_scopes(platform)` when it builds the authorization
request: an owner who switched comment replies on for Instagram is asked for `instagram_manage_comments` as
well; one who did not is asked for nothing more than publishing needs. Turning replies on later for a platform
connected without them shows "reconnect to grant ..." in readiness.
"""

from __future__ import annotations

from shared.comments.readiness import REQUIRED_SCOPES


def comment_scopes(platform: str) -> tuple[str, ...]:
    return REQUIRED_SCOPES.get(platform, ())


def connect_scopes(platform: str) -> tuple[str, ...]:
    """Scopes to request for `platform` now: the comment ones if replies are on for it, else none."""
    if platform not in REQUIRED_SCOPES:
        return ()
    from shared.comments.config import CommentSettings
    from shared.settings.store import read_settings

    cs = CommentSettings.from_settings(read_settings(["commentRepliesActive", f"{platform}CommentBlacklist"]))
    return comment_scopes(platform) if cs.enabled(platform) else ()
