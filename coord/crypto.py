"""Encryption of personal data at rest and masking for display.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under `DATA_KEY`.
`DATA_KEY` may list several comma-separated keys: the first encrypts, all decrypt,
so a new key can be put first while old values stay readable. Other features derive keys
of their own from it (`derive_keys`), never storing them.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app

log = logging.getLogger(__name__)

_KEY_FILE = "data.key"


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def load_data_key(app: Flask) -> None:
    """Make sure DATA_KEY is set; in development generate one into instance/."""
    if app.config.get("DATA_KEY"):
        return
    if app.config["ENV"] == "production":
        return  # the production checks refuse to start
    path = Path(app.instance_path) / _KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
        log.warning("COORD_DATA_KEY is not set: generated a development key in %s", path)
    app.config["DATA_KEY"] = path.read_text().strip()


def _keys() -> list[str]:
    return [k.strip() for k in current_app.config["DATA_KEY"].split(",") if k.strip()]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()])


def derive_keys(purpose: str) -> list[bytes]:
    """Derive a 32-byte key for `purpose` (HKDF-SHA256) from each data key, current first."""
    info = purpose.encode()
    return [
        HKDF(algorithm=hashes.SHA256(), length=32, salt=b"coord derived key v1", info=info).derive(
            base64.urlsafe_b64decode(key)
        )
        for key in _keys()
    ]


def encrypt(value: str | None) -> bytes | None:
    """Encrypt a text value (None stays None)."""
    if value is None:
        return None
    return _fernet().encrypt(value.encode())


def decrypt(token: bytes | None) -> str | None:
    """Decrypt a value stored by `encrypt`."""
    if token is None:
        return None
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise DecryptionError("personal data cannot be decrypted with the configured keys") from exc


def mask(value: str | None, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """Mask the middle of a value for display: 13812345678 → 138****5678."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    return value[:keep_start] + "*" * 4 + value[-keep_end:]
