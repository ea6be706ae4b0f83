"""The settings one pipeline run needs, read once per run (one query) instead of per item."""

from __future__ import annotations

from dataclasses import dataclass

from shared.rss.captions import CaptionSettings
from shared.rss.schedule import PostingRules

KEYS = ("timezone", "globalRSSPosting", "rssEventDrivenPosting", "rssPostingInterval", "rssCaptionModel",
        "rssCaptionTemperature", "rssCaptionTone", "rssCaptionMaxLength", "rssCaptionPrompt", "dailyQuotaX",
        "dailyQuotaThreads", "dailyQuotaFacebook", "dailyQuotaPinterest", "quietHoursEnabled", "quietHoursStart",
        "quietHoursEnd", "rssDeduplication", "openaiKey", "serperKey", "rssLogLevel", "postAlignMinutes",
        "rssPinterestBoard", "platformSettings", "tmdbKey")


@dataclass(frozen=True)
class RunSettings:
    posting: PostingRules
    captions: CaptionSettings
    global_posting: bool
    dedupe: bool
    openai_key: str
    serper_key: str
    log_level: str  # minimal | standard | full
    pinterest_board: str = ""  # the board RSS pins go to ("" = none: no Pinterest post is planned)
    tmdb_key: str = ""  # the owner's tmdbKey, else TMDB_API_KEY: the feeds' `tmdbEnabled` image source

    @classmethod
    def from_settings(cls, s: dict) -> RunSettings:
        return cls(posting=PostingRules.from_settings(s), captions=CaptionSettings.from_settings(s),
                   global_posting=bool(s.get("globalRSSPosting", True)), dedupe=bool(s.get("rssDeduplication", True)),
                   openai_key=str(s.get("openaiKey") or ""), serper_key=str(s.get("serperKey") or ""),
                   log_level=str(s.get("rssLogLevel") or "standard"), pinterest_board=board_of(s),
                   tmdb_key=tmdb_credential(s))


def load_run_settings(conn=None) -> RunSettings:
    from shared.settings.store import read_settings

    return RunSettings.from_settings(read_settings(KEYS, conn=conn))


def tmdb_credential(s: dict) -> str:
    from shared.tmdb.client import credential

    return credential(s)


def board_of(s: dict) -> str:
    """RSS's Pinterest board: its own setting, else the default board of Pinterest's platform settings."""
    ps = s.get("platformSettings") or {}
    default = (ps.get("pinterest") or {}).get("defaultBoardId") if isinstance(ps, dict) else None
    return str(s.get("rssPinterestBoard") or default or "").strip()


def pinterest_board(conn=None) -> str:
    from shared.settings.store import read_settings

    return board_of(read_settings(["rssPinterestBoard", "platformSettings"], conn=conn))
