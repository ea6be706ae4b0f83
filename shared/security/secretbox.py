"""AES-256-GCM for secrets at rest (settings secrets, platform tokens).

Blob layout: version byte 0x01 | key id (4 bytes of sha256(key)) | 12-byte nonce | ciphertext+tag, base64.
The first key in ENCRYPTION_KEYS encrypts; every listed key can decrypt, so keys rotate by prepending a new one
and re-encrypting (`reencrypt`). `aad` binds a blob to its purpose (e.g. the setting key) so a ciphertext
copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os

from shared.config import get_config


class SecretBoxError(Exception):
    pass


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


class SecretBox:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise SecretBoxError("no encryption key configured (ENCRYPTION_KEYS)")
        self._keys = keys
        self._by_id = {_key_id(k): k for k in keys}

    def encrypt(self, plaintext: str, aad: str = "") -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = self._keys[0]
        nonce = os.urandom(12)
        ct = AESGCM(key).encrypt(nonce, plaintext.encode(), aad.encode())
        return base64.b64encode(b"\x01" + _key_id(key) + nonce + ct).decode()

    def decrypt(self, blob: str, aad: str = "") -> str:
        raw = base64.b64decode(blob)
        if len(raw) < 1 + 4 + 12 + 16 or raw[0] != 1:
            raise SecretBoxError("not a secretbox blob")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = self._by_id.get(raw[1:5])
        if key is None:
            raise SecretBoxError("blob was encrypted with a key that is no longer configured")
        try:
            return AESGCM(key).decrypt(raw[5:17], raw[17:], aad.encode()).decode()
        except Exception as exc:  # InvalidTag
            raise SecretBoxError("secret could not be decrypted (wrong key or tampered)") from exc

    def needs_rotation(self, blob: str) -> bool:
        return base64.b64decode(blob)[1:5] != _key_id(self._keys[0])

    def reencrypt(self, blob: str, aad: str = "") -> str:
        return self.encrypt(self.decrypt(blob, aad), aad)


def get_secretbox() -> SecretBox:
    return SecretBox(get_config().encryption_key_list())


def mask_secret(value: str) -> str:
    """First 4 + •••• + last 4, as the frontend's mask helper shows; short values are fully masked."""
    if not value:
        return ""
    if len(value) <= 12:
        return "••••••••"
    return f"{value[:4]}••••{value[-4:]}"
