"""Uploaded files: checked by content (not by name), size-limited, metadata stripped,
stored under random keys through `coord.storage` (a local folder or an S3 bucket), served
only as downloads."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Response, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, SessionTransaction

from coord.db import db
from coord.errors import DomainError
from coord.storage import storage

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# PNG chunks that can carry metadata (text, EXIF with GPS, times); everything else is kept.
_PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
#: Keys stored in the session's current transaction (deleted if it is rolled back).
_NEW_UPLOADS = "coord.new_uploads"


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed the checks, ready to store."""

    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """Tell the real type of a file from its first bytes."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def safe_filename(name: str, content_type: str) -> str:
    """Keep a readable name (Chinese allowed) without paths, controls or a misleading suffix."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = re.sub(r"[\x00-\x1f\x7f<>:\"|?*;]", "", name.rsplit(".", 1)[0]).strip(" .")[:80]
    suffix = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}[content_type]
    return (stem or "file") + suffix


def strip_png_metadata(data: bytes) -> bytes:
    """Drop text, EXIF and time chunks from a PNG."""
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunk_type = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG")
        if chunk_type not in _PNG_METADATA:
            out.append(data[pos:end])
        pos = end
        if chunk_type == b"IEND":
            break
    return b"".join(out)


def strip_jpeg_metadata(data: bytes) -> bytes:
    """Drop APP1–APP15 segments (EXIF with GPS, XMP, …) and comments from a JPEG."""
    out, pos = [data[:2]], 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("malformed JPEG")
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out.append(data[pos:])
            return b"".join(out)
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if end > len(data) or length < 2:
            raise ValueError("truncated JPEG")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out.append(data[pos:end])
        pos = end
    raise ValueError("JPEG without image data")


def check_upload(
    filename: str, data: bytes, *, allowed: frozenset[str], max_bytes: int = DEFAULT_MAX_BYTES
) -> CheckedFile:
    """Accept a file only if its content is of an allowed type and small enough."""
    if not data:
        raise DomainError(str(_l("The file is empty.")), field="file")
    if len(data) > max_bytes:
        raise DomainError(
            str(_l("The file is larger than %(mb)d MB.", mb=max_bytes // (1024 * 1024))),
            field="file",
        )
    content_type = sniff(data)
    if content_type not in allowed:
        raise DomainError(str(_l("This kind of file is not accepted.")), field="file")
    try:
        if content_type == PNG:
            data = strip_png_metadata(data)
        elif content_type == JPEG:
            data = strip_jpeg_metadata(data)
    except ValueError as exc:
        raise DomainError(str(_l("The file is damaged.")), field="file") from exc
    return CheckedFile(safe_filename(filename, content_type), content_type, data)


def store(data: bytes) -> str:
    """Store checked bytes under a new random key; return the key.

    If the transaction that stores them is rolled back, the bytes are deleted again, so a
    refused use case leaves no orphan file behind.
    """
    db.session.connection()  # begin the transaction whose end decides the file's fate
    backend = storage()
    key = backend.save(io.BytesIO(data))
    db.session.info.setdefault(_NEW_UPLOADS, []).append((backend, key))
    return key


def load(key: str) -> bytes:
    """Read stored bytes back."""
    with storage().open(key) as stream:
        return stream.read()


def download(key: str, filename: str, content_type: str) -> Response:
    """Serve a stored file as a download, never rendered inline."""
    return storage().serve(key, filename, content_type)


@sa.event.listens_for(Session, "after_commit")
def _keep_new_uploads(session: Session) -> None:
    session.info.pop(_NEW_UPLOADS, None)


@sa.event.listens_for(Session, "after_soft_rollback")
def _delete_new_uploads(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:  # a savepoint: the outer work goes on
        return
    for backend, key in session.info.pop(_NEW_UPLOADS, []):
        try:
            backend.delete(key)
        except Exception:  # an orphan file is harmless; a failed rollback is not
            current_app.logger.warning("could not delete the orphan upload %s", key)
