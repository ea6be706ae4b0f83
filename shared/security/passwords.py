"""The login password is configured as an argon2 hash (APP_PASSWORD_HASH); the plain text is never stored."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher  # lazy: only login pays for argon2

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    if not password_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_is_usable(password_hash: str) -> bool:
    """An argon2 hash we can verify against (a pasted bcrypt hash or a truncated value is not)."""
    if not password_hash:
        return False
    from argon2 import extract_parameters
    from argon2.exceptions import InvalidHashError

    try:
        extract_parameters(password_hash)
        return True
    except (InvalidHashError, ValueError):
        return False


def main() -> int:
    """`python -m shared.security.passwords`: prints the APP_PASSWORD_HASH for a password typed at the prompt
    (or piped on stdin), so the plain text never lands in shell history."""
    import getpass
    import sys

    password = getpass.getpass("Login password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("use at least 12 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
