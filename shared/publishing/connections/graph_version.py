"""The Meta Graph API version Facebook and Instagram calls use, and when it stops working.

Meta keeps each version for about two years; a call to an expired version is answered with an error, so every
Facebook and Instagram post would fail on that day. The version is META_GRAPH_VERSION (default below); /health
carries a warning from 30 days before its end of life, and the owner gets one notification (not one per request).

End-of-life dates: https://developers.facebook.com/docs/graph-api/changelog/versions/ (checked 2026-11-30).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT_VERSION = "v25.0"  # the version of the Graph node specs the adapters are held to (tests/contracts)
WARN_BEFORE = timedelta(days=30)
VERSIONS_DOC = "https://developers.facebook.com/docs/graph-api/changelog/versions/"

# version -> (released, available until); None = "TBD" in Meta's table
END_OF_LIFE: dict[str, tuple[date, date | None]] = {
    "v26.0": (date(2026, 7, 29), None),
    "v25.0": (date(2026, 2, 18), date(2028, 7, 29)),
    "v24.0": (date(2025, 10, 8), date(2028, 2, 18)),
    "v23.0": (date(2025, 5, 29), date(2027, 10, 8)),
    "v22.0": (date(2025, 1, 21), date(2027, 5, 20)),
    "v21.0": (date(2024, 10, 2), date(2027, 1, 21)),
    "v20.0": (date(2024, 5, 21), date(2026, 9, 24)),
    "v19.0": (date(2024, 1, 23), date(2026, 5, 21)),
}


@dataclass(frozen=True)
class VersionWarning:
    version: str
    end_of_life: date | None
    days_left: int | None
    message: str

    def as_dict(self) -> dict:
        return {"code": "META_GRAPH_VERSION_END_OF_LIFE", "version": self.version,
                "endOfLife": self.end_of_life.isoformat() if self.end_of_life else None,
                "daysLeft": self.days_left, "message": self.message, "see": VERSIONS_DOC}


def normalize(version: str) -> str:
    v = (version or "").strip()
    return v if v.startswith("v") else f"v{v}"


def end_of_life(version: str, override: str = "") -> date | None:
    if override.strip():
        return date.fromisoformat(override.strip())
    entry = END_OF_LIFE.get(normalize(version))
    return entry[1] if entry else None


def warning(version: str, today: date, override: str = "") -> VersionWarning | None:
    """Pure: the warning to show on `today`, or None."""
    v = normalize(version)
    if not re.fullmatch(r"v\d+\.\d+", v):
        return VersionWarning(v, None, None, f"META_GRAPH_VERSION {version!r} is not a Graph API version (vNN.N)")
    eol = end_of_life(v, override)
    if eol is None:
        if v not in END_OF_LIFE:
            return VersionWarning(v, None, None, f"Graph API {v} is not in the known version table: its end of "
                                                 f"life is unknown; set META_GRAPH_VERSION_END_OF_LIFE")
        return None  # Meta has not announced it yet
    days = (eol - today).days
    if days < 0:
        return VersionWarning(v, eol, days, f"Graph API {v} reached its end of life on {eol.isoformat()}: Facebook "
                                            f"and Instagram calls fail. Set META_GRAPH_VERSION to a current version.")
    if today >= eol - WARN_BEFORE:
        return VersionWarning(v, eol, days, f"Graph API {v} stops working on {eol.isoformat()} ({days} days): set "
                                            f"META_GRAPH_VERSION to a newer version before then.")
    return None


def configured_warning(today: date | None = None) -> VersionWarning | None:
    from shared.config import get_config

    cfg = get_config()
    return warning(cfg.meta_graph_version, today or date.today(), cfg.meta_graph_version_end_of_life)


_notified: set[str] = set()  # per process: the database remembers it across processes


def notify_once(w: VersionWarning) -> bool:
    """One notification per (version, end of life), whoever asks and however often. True when it was sent now."""
    key = f"graph-version:{w.version}:{w.end_of_life or 'unknown'}:{'expired' if (w.days_left or 0) < 0 else 'soon'}"
    if key in _notified:
        return False
    from shared import activity
    from shared.db import connection

    with connection() as c, c.transaction():
        first = c.execute("INSERT INTO notices_sent (key) VALUES (%s) ON CONFLICT DO NOTHING RETURNING key",
                          (key,)).fetchone()
        if first:
            activity.notify("warning", "Update the Meta Graph API version", w.message + f" See {VERSIONS_DOC}",
                            source="system", action_page="settings", conn=c)
    _notified.add(key)
    return first is not None


def check_and_notify() -> dict | None:
    """The maintenance tick's look: the warning if there is one (notified once), else None."""
    w = configured_warning()
    if w is None:
        return None
    notify_once(w)
    return w.as_dict()


def graph_url(path: str = "") -> str:
    """https://graph.facebook.com/<version>/<path>. A META_GRAPH_BASE that still ends in a version keeps working
    (the configured version wins)."""
    from shared.config import get_config

    cfg = get_config()
    base = re.sub(r"/v\d+\.\d+/?$", "", cfg.meta_graph_base.rstrip("/"))
    return f"{base}/{normalize(cfg.meta_graph_version)}" + (f"/{path.lstrip('/')}" if path else "")


def graph_video_url(path: str = "") -> str:
    from shared.config import get_config

    cfg = get_config()
    base = re.sub(r"/v\d+\.\d+/?$", "", cfg.meta_graph_video_base.rstrip("/"))
    return f"{base}/{normalize(cfg.meta_graph_version)}" + (f"/{path.lstrip('/')}" if path else "")


def authorize_url() -> str:
    from shared.config import get_config

    cfg = get_config()
    return cfg.meta_authorize_url or f"https://www.facebook.com/{normalize(cfg.meta_graph_version)}/dialog/oauth"
