"""GET/PUT/DELETE /api/settings: what the client may see (secrets masked) and how a patch is applied.

A patch is all-or-nothing: it is checked in full first (unknown keys, kinds) and then written in one
transaction. A secret equal to its mask (the client echoing what GET returned) is ignored, `null` resets a key
to its default, and an empty secret clears it. Only key names are logged, never values.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from shared import activity
from shared.db import connection, transaction
from shared.errors import ValidationFailed
from shared.security.secretbox import mask_secret
from shared.settings import store
from shared.settings.inventory import DEFAULTS, SECRET_KEYS
from shared.settings.validation import check_patch, is_masked_echo


@dataclass
class PublicView:
    values: dict[str, Any]
    undecryptable: list[str]


def _public_value(key: str, raw: Any, undecryptable: list[str]) -> Any:
    if key not in SECRET_KEYS:
        return raw
    from shared.security.secretbox import SecretBoxError

    try:
        return mask_secret(store.decrypt_secret(key, raw) or "")
    except (SecretBoxError, ValueError):
        # a key that was rotated away or a damaged row: show "not set" so the owner re-enters it
        undecryptable.append(key)
        return ""


def public_settings(conn=None) -> PublicView:
    def _read(c) -> PublicView:
        rows = store.stored_rows(c)
        undecryptable: list[str] = []
        values = copy.deepcopy(DEFAULTS)
        for key, raw in rows.items():
            if key in values:  # rows of keys since removed from the inventory stay hidden
                values[key] = _public_value(key, raw, undecryptable)
        return PublicView(values, sorted(undecryptable))

    if conn is not None:
        return _read(conn)
    with connection() as c:
        return _read(c)


@dataclass
class UpdateResult:
    values: dict[str, Any]  # public values of every key in the patch
    changed: list[str]
    ignored_masked: list[str]

    def meta(self) -> dict[str, Any]:
        n = len(self.changed)
        if n == 0:
            message = "No changes to save"
        elif n <= 5:
            message = f"Updated {n} setting{'s' if n != 1 else ''}: {', '.join(self.changed)}"
        else:
            message = f"Updated {n} settings"
        meta: dict[str, Any] = {"changedKeys": self.changed, "notificationTitle": "Settings saved",
                                "notificationMessage": message}
        if self.ignored_masked:
            meta["ignoredMaskedKeys"] = self.ignored_masked
        return meta


def _apply_secret(conn, key: str, value: Any, current_raw: Any) -> bool:
    from shared.security.secretbox import SecretBoxError

    try:
        current = store.decrypt_secret(key, current_raw) if current_raw is not None else ""
    except (SecretBoxError, ValueError):
        current = None  # unreadable (key rotated away): any new value replaces it
    if value is None or value == "":
        if current_raw is None:
            return False
        store.delete(conn, key)
        return True
    if value == current:
        return False
    store.upsert(conn, key, store.encrypt_secret(key, value))
    return True


def _json_value(v: Any) -> Any:
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("number", float(v))
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


def _same(a: Any, b: Any) -> bool:
    """Equality as the frontend sees JSON: 50 and 50.0 are one number, but true is not 1 (Python's == says it
    is, which would swallow a change of type)."""
    return _json_value(a) == _json_value(b)


def _apply_plain(conn, key: str, value: Any, current_raw: Any, has_row: bool) -> bool:
    effective = current_raw if has_row else DEFAULTS[key]
    if value is None:
        if not has_row:
            return False
        store.delete(conn, key)
        return not _same(effective, DEFAULTS[key])
    if _same(value, effective) and (has_row or _same(value, DEFAULTS[key])):
        return False
    store.upsert(conn, key, value)
    return True


def update_settings(patch: dict[str, Any]) -> UpdateResult:
    check = check_patch(patch)
    if not check.ok:
        parts = []
        if check.unknown:
            parts.append("unknown settings keys: " + ", ".join(check.unknown))
        if check.invalid:
            parts.append("; ".join(f"{k} {why}" for k, why in sorted(check.invalid.items())))
        raise ValidationFailed("; ".join(parts),
                               details={"unknownKeys": check.unknown, "invalidKeys": check.invalid})

    changed: list[str] = []
    ignored: list[str] = []
    guards = _guards(patch)  # before anything is saved: may refuse the change (409)
    try:
        view = _save(patch, changed, ignored, guards)
    except BaseException:
        for g in guards:
            g.failed()
        raise
    for g in guards:
        g.after()
    if changed:
        _after_change(changed)
    return UpdateResult({k: view.values[k] for k in patch}, changed, ignored)


# "module:function" -> the keys it guards: called with the patch before a save, it returns None or a guard whose
# `in_transaction(conn)` runs first in the save's transaction, then `after()` once it committed or `failed()`.
# Constructing it may refuse the save (a Conflict). Used where a setting changes what is already carried ahead:
# turning global RSS posting off, or changing publishMode, gives carried posts back to their delivery
# (shared/rss/queue.py OwnerChange, shared/tmdb/delivery.py ModeChange).
SAVE_GUARDS: dict[str, tuple[str, ...]] = {
    "shared.rss.queue:settings_guard": ("globalRSSPosting", "publishMode"),
    "shared.tmdb.delivery:settings_guard": ("publishMode",),
}


def _guards(patch: dict[str, Any]) -> list[Any]:
    import importlib

    out = []
    for ref, keys in SAVE_GUARDS.items():
        if set(patch) & set(keys):
            module, _, name = ref.partition(":")
            guard = getattr(importlib.import_module(module), name)(patch)
            if guard is not None:
                out.append(guard)
    return out


def _save(patch: dict[str, Any], changed: list[str], ignored: list[str], guards: list[Any]) -> PublicView:
    with transaction() as conn:
        for g in guards:
            g.in_transaction(conn)
        current = store.stored_rows(conn, patch.keys(), for_update=True)
        for key, value in patch.items():
            if key in SECRET_KEYS:
                if is_masked_echo(value):
                    ignored.append(key)
                    continue
                did = _apply_secret(conn, key, value, current.get(key))
            else:
                did = _apply_plain(conn, key, value, current.get(key), key in current)
            if did:
                changed.append(key)
        if changed:
            activity.log("settings", "info", f"Settings updated: {len(changed)} key(s)",
                         {"changedKeys": changed},
                         conn=conn)
        return public_settings(conn)


# "module:function" -> the keys it follows; called with the changed keys after a save committed. A failing hook
# is logged and never fails the save (the setting is stored; the hook's effect can be redone).
CHANGE_HOOKS: dict[str, tuple[str, ...]] = {
    "shared.tmdb.schedules:on_settings_changed": ("timezone", "tmdbDailyRefreshTime"),
    # the feed checks' Redis copy of the settings they judge urgency with (shared/rss/timing.py SETTING_KEYS)
    "shared.rss.timing:on_settings_changed": ("globalRSSPosting", "timezone", "quietHoursEnabled",
                                              "quietHoursStart", "quietHoursEnd", "rssProcessingWindowMinutes",
                                              "rssUrgentProcessing"),
    # the comment poll's Redis switch (which platforms are ready) and its schedule's cron (commentPollInterval)
    "shared.comments.schedule:on_settings_changed": (
        "commentRepliesActive", "commentPollInterval", "openaiKey", "platformSettings",
        "xCommentBlacklist", "threadsCommentBlacklist", "facebookCommentBlacklist", "instagramCommentBlacklist",
        "youtubeCommentBlacklist"),
}


def _after_change(changed: list[str]) -> None:
    import importlib
    import logging

    for ref, keys in CHANGE_HOOKS.items():
        if not set(changed) & set(keys):
            continue
        module, _, name = ref.partition(":")
        try:
            getattr(importlib.import_module(module), name)(changed)
        except Exception as exc:
            logging.getLogger("screndly.settings").exception("settings hook %s failed", ref)
            try:
                activity.log("settings", "error", f"after saving {', '.join(sorted(set(changed) & set(keys)))}: "
                             f"{type(exc).__name__}: {str(exc)[:200]}", {"hook": ref})
            except Exception:
                pass


def reset_settings() -> int:
    with transaction() as conn:
        removed = conn.execute("DELETE FROM settings").rowcount
        activity.log("settings", "warn", "Settings reset to defaults", {"removedKeys": removed}, conn=conn)
    _after_change(sorted(DEFAULTS))  # every key is back to its default: whatever follows settings follows too
    return removed
