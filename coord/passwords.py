"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verified against when the user does not exist, so both answers take the same time.
_DUMMY_PASSWORD = "not a real password"  # noqa: S105


def _hasher() -> PasswordHasher:
    return PasswordHasher(**current_app.config["PASSWORD_HASH"])


def hash_password(password: str) -> str:
    """Return an argon2id hash of `password`."""
    return _hasher().hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Verify `password`; with no stored hash, spend the same time and answer False."""
    hasher = _hasher()
    try:
        return hasher.verify(stored_hash or hasher.hash(_DUMMY_PASSWORD), password) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Tell whether `stored_hash` was made with weaker parameters than configured."""
    return _hasher().check_needs_rehash(stored_hash)
