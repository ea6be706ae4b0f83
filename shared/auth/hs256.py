"""Verifying an HS256 JWT with the standard library: what every authenticated request does.

PyJWT (which pulls `cryptography`, ~70-90 ms of a cold start) is imported only where tokens are issued, at
login; the polls that keep an instance busy only ever verify. This check accepts exactly the tokens PyJWT's
`decode(token, key, algorithms=["HS256"], options={"require": ["exp", "iat", "sub"]})` accepts that are in
the canonical form PyJWT itself writes, and refuses the rest (tests/test_auth_hs256.py checks both against
PyJWT, tokens it issued and tokens tampered with):

- exactly three base64url segments, unpadded and canonical (a re-encoding of the decoded bytes gives the same
  text: no second spelling of one signature);
- a JSON-object header whose `alg` is "HS256" (never `none` or another algorithm: the key decides nothing
  here), with no `crit` or `b64` extension;
- an HMAC-SHA256 over the first two segments, compared in constant time, before the payload is even parsed;
- a JSON-object payload (NaN and Infinity refused) with `exp`, `iat` and `sub`; `exp` in the future, `iat`
  and `nbf` not; times are JSON numbers (PyJWT also takes numeric strings, which no issuer of ours writes);
  `sub` and `jti` strings; no `aud` (none is expected, as PyJWT refuses one without an audience to match).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from typing import Any


class InvalidToken(Exception):
    """The token is not one this key signed, or not well formed."""


class ExpiredToken(InvalidToken):
    """Signed by this key, but its `exp` has passed."""


_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
REQUIRED = ("exp", "iat", "sub")


def _b64decode(segment: bytes) -> bytes:
    if not _ALPHABET.issuperset(segment):
        raise InvalidToken("not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("not base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != segment:
        raise InvalidToken("not canonical base64url")
    return raw


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidToken("not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("not a JSON object")
    return value


def _time_claim(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidToken(f"{name} is not a number")  # 1e400 parses to inf: refused, as PyJWT refuses it
    return value


def verify(token: str | bytes, key: str | bytes, now: float | None = None) -> dict[str, Any]:
    """The claims of a token `key` signed with HS256, or InvalidToken / ExpiredToken."""
    raw = token.encode("ascii", "replace") if isinstance(token, str) else token
    parts = raw.split(b".")
    if len(parts) != 3:
        raise InvalidToken("not three segments")
    header_seg, payload_seg, signature_seg = parts
    header = _json_object(_b64decode(header_seg))
    if header.get("alg") != "HS256":
        raise InvalidToken("algorithm not allowed")
    if "crit" in header or "b64" in header:
        raise InvalidToken("unsupported header extension")
    secret = key.encode() if isinstance(key, str) else key
    if not secret:  # no JWT_SECRET configured: nothing is signed, so nothing verifies (PyJWT refuses it too)
        raise InvalidToken("no key")
    expected = hmac.new(secret, header_seg + b"." + payload_seg, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64decode(signature_seg)):
        raise InvalidToken("signature verification failed")

    claims = _json_object(_b64decode(payload_seg))
    for name in REQUIRED:
        if claims.get(name) is None:
            raise InvalidToken(f"missing {name}")
    current = time.time() if now is None else now
    if int(_time_claim(claims, "iat")) > current:
        raise InvalidToken("issued in the future")
    if "nbf" in claims and int(_time_claim(claims, "nbf")) > current:
        raise InvalidToken("not yet valid")
    if int(_time_claim(claims, "exp")) <= current:
        raise ExpiredToken("token expired")
    if claims.get("aud"):
        raise InvalidToken("audience not expected")
    if not isinstance(claims["sub"], str) or ("jti" in claims and not isinstance(claims["jti"], str)):
        raise InvalidToken("sub and jti must be strings")
    return claims
