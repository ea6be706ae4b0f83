"""Pure checks of a settings patch against the inventory: unknown keys, value kinds, sizes.

Loose on purpose where the frontend is loose (numbers sent as strings and the reverse), strict where a wrong
value would break a capability later (a bool that is a string, a list that is a number, oversized text).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from shared.settings.inventory import SPECS, SettingSpec

MAX_STRING_CHARS = 100_000  # long prompts fit; a pasted file does not
MAX_SECRET_CHARS = 4_096
MAX_JSON_CHARS = 200_000


@dataclass
class PatchCheck:
    unknown: list[str] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)  # key -> why

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.invalid


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numeric_string(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def check_value(spec: SettingSpec, value: Any) -> str | None:
    """Why `value` cannot be stored under `spec`, or None when it can. None (JSON null) always can: it
    resets the key to its default."""
    if value is None:
        return None
    if spec.secret:
        if not isinstance(value, str):
            return "must be a string"
        return "is too long" if len(value) > MAX_SECRET_CHARS else None
    kind = spec.kind
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "number":
        return None if _is_number(value) or _numeric_string(value) else "must be a number"
    if kind == "string":
        if _is_number(value):
            return None
        if not isinstance(value, str):
            return "must be a string"
        return "is too long" if len(value) > MAX_STRING_CHARS else None
    if kind == "scalar":
        if _is_number(value):
            return None
        if not isinstance(value, str):
            return "must be a string or a number"
        return "is too long" if len(value) > MAX_STRING_CHARS else None
    if kind == "list":
        if not isinstance(value, list):
            return "must be an array"
        return "is too large" if _json_size(value) > MAX_JSON_CHARS else None
    if kind == "object":
        if isinstance(value, str):
            try:
                parsed = json.loads(value) if value.strip() else {}
            except ValueError:
                return "must be an object or a JSON string of one"
            if not isinstance(parsed, dict):
                return "must be an object or a JSON string of one"
        elif not isinstance(value, dict):
            return "must be an object"
        return "is too large" if _json_size(value) > MAX_JSON_CHARS else None
    # any
    if isinstance(value, float) and not math.isfinite(value):
        return "must be finite"
    return "is too large" if _json_size(value) > MAX_JSON_CHARS else None


def _zone_problem(value: Any) -> str | None:
    """The owner's day is computed in Python (zoneinfo) and in SQL (Postgres' zones): a name both know, i.e. an
    IANA zone. Abbreviations such as "CEST" or "IST" are refused (Postgres would read "IST" as Israel)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return "must be an IANA time zone name such as Africa/Lagos"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"is not a time zone name ({value[:40]!r}); use an IANA name such as Europe/Paris"
    return None


# checks beyond a key's kind
_KEY_CHECKS = {"timezone": _zone_problem}


def check_patch(patch: dict[str, Any]) -> PatchCheck:
    result = PatchCheck()
    for key, value in patch.items():
        spec = SPECS.get(key)
        if spec is None:
            result.unknown.append(key)
            continue
        why = check_value(spec, value) or (_KEY_CHECKS[key](value) if key in _KEY_CHECKS else None)
        if why:
            result.invalid[key] = why
    result.unknown.sort()
    return result


MASK_CHAR = "•"


def is_masked_echo(value: Any) -> bool:
    """A secret value the client got from GET and sent back unchanged. Masks always contain '•', which no
    real API key does, so any value with it is an echo (including the frontend's own placeholder)."""
    return isinstance(value, str) and MASK_CHAR in value
