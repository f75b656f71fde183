"""Encryption of personal data at rest and masking for display; the platform's keys.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under `DATA_KEY`.
`DATA_KEY` may list several comma-separated keys: the first encrypts, all decrypt,
so a new key can be put first while old values stay readable. Other features derive keys
of their own from it (`derive_keys`), never storing them. `AUDIT_SIGNING_KEY` signs the
audit chain's checkpoints (coord.audit).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app

from coord import audit_chain

log = logging.getLogger(__name__)

_KEY_FILE = "data.key"
_SIGNING_KEY_FILE = "audit-signing.key"


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def _development_key(app: Flask, filename: str, new_key: Callable[[], str], setting: str) -> str:
    """Return the key kept in instance/`filename`, generating it the first time."""
    path = Path(app.instance_path) / filename
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
        log.warning("COORD_%s is not set: generated a development key in %s", setting, path)
    return path.read_text().strip()


def load_data_key(app: Flask) -> None:
    """Make sure DATA_KEY is set; in development generate one into instance/."""
    if app.config.get("DATA_KEY"):
        return
    if app.config["ENV"] == "production":
        return  # the production checks refuse to start
    app.config["DATA_KEY"] = _development_key(
        app, _KEY_FILE, lambda: Fernet.generate_key().decode(), "DATA_KEY"
    )


def load_signing_key(app: Flask) -> None:
    """Set AUDIT_SIGNING_KEY from itself, from AUDIT_SIGNING_KEY_FILE or (in development) a
    key generated into instance/, and check the audit keys; raise ValueError if invalid."""
    config = app.config
    if not config.get("AUDIT_SIGNING_KEY") and config.get("AUDIT_SIGNING_KEY_FILE"):
        try:
            config["AUDIT_SIGNING_KEY"] = Path(config["AUDIT_SIGNING_KEY_FILE"]).read_text()
        except OSError as exc:
            raise ValueError(f"COORD_AUDIT_SIGNING_KEY_FILE cannot be read: {exc}") from None
    if not config.get("AUDIT_SIGNING_KEY") and config["ENV"] != "production":
        config["AUDIT_SIGNING_KEY"] = _development_key(
            app, _SIGNING_KEY_FILE, audit_chain.new_private_key, "AUDIT_SIGNING_KEY"
        )
    try:
        if config.get("AUDIT_SIGNING_KEY"):
            audit_chain.load_private_key(config["AUDIT_SIGNING_KEY"])
        audit_chain.load_public_keys(config.get("AUDIT_PUBLIC_KEYS") or "")
    except ValueError:
        raise ValueError(
            "COORD_AUDIT_SIGNING_KEY must be an Ed25519 private key (base64 of its 32 raw "
            "bytes, or PEM) and COORD_AUDIT_PUBLIC_KEYS Ed25519 public keys (PEM or base64)"
        ) from None


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
