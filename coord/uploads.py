"""Uploaded files: checked by content (not by name), size-limited, metadata stripped,
stored renamed under instance/uploads (never under static/), served only as downloads."""

from __future__ import annotations

import hashlib
import re
import secrets
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, send_file
from flask_babel import lazy_gettext as _l

from coord.errors import DomainError

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# PNG chunks that can carry metadata (text, EXIF with GPS, times); everything else is kept.
_PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


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


def _root() -> Path:
    rv = Path(
        current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads"
    )
    rv.mkdir(parents=True, exist_ok=True)
    return rv


def store(data: bytes) -> str:
    """Write bytes under a random name; return the storage key."""
    key = secrets.token_hex(20)
    (_root() / key).write_bytes(data)
    return key


def load(key: str) -> bytes:
    """Read stored bytes back."""
    if not re.fullmatch(r"[0-9a-f]{40}", key):
        raise FileNotFoundError(key)
    return (_root() / key).read_bytes()


def download(key: str, filename: str, content_type: str) -> Response:
    """Serve a stored file as a download, never rendered inline."""
    if not re.fullmatch(r"[0-9a-f]{40}", key):
        raise FileNotFoundError(key)
    rv = send_file(_root() / key, mimetype=content_type, as_attachment=True, download_name=filename)
    rv.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    rv.headers["X-Content-Type-Options"] = "nosniff"
    return rv
