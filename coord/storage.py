"""Where uploaded files live: one interface, a local-folder and an S3-compatible backend.

``STORAGE`` chooses the backend:

- ``local`` (default): files in ``UPLOAD_FOLDER`` (default ``instance/uploads``, never under
  ``static/``). When several machines serve the app, it is a shared volume.
- ``s3``: objects in the bucket ``S3_BUCKET`` of an S3-compatible store (MinIO in an
  office, or a cloud's), at ``S3_ENDPOINT`` with ``S3_ACCESS_KEY`` / ``S3_SECRET_KEY``
  (``S3_REGION``). boto3 is imported only by this backend (`pip install coord[s3]`).

Keys are random (40 hex digits); file names stay in the database, so a folder or bucket
listing tells nothing about whose file is which. Only this module knows where a key's
bytes are: everything else goes through `storage()` (or `coord.uploads`).
"""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

from flask import Response, current_app, send_file

_KEY = re.compile(r"[0-9a-f]{40}")
_EXTENSION = "coord.storage"


class Storage(Protocol):
    """A place for uploaded bytes, addressed by opaque keys."""

    def save(self, stream: BinaryIO) -> str:
        """Store the bytes of `stream` under a new key; return the key."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Return a readable binary stream of the key's bytes (FileNotFoundError if none)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the key's bytes (nothing happens when there are none)."""
        ...

    def serve(self, key: str, filename: str, content_type: str) -> Response:
        """Answer with the key's bytes as a download named `filename`."""
        ...


def new_key() -> str:
    """Return a fresh random key."""
    return secrets.token_hex(20)


def check_key(key: str) -> str:
    """Return `key` if it is well formed, else raise FileNotFoundError (no paths, no tricks)."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise FileNotFoundError(key)
    return key


def as_download(response: Response) -> Response:
    """Make a file response a sandboxed download that no browser renders or sniffs."""
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class LocalStorage:
    """Files in one folder (a shared volume when several machines serve the app)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def save(self, stream: BinaryIO) -> str:
        """Write the stream to a new file named by a random key."""
        self.root.mkdir(parents=True, exist_ok=True)
        key = new_key()
        with self._path(key).open("xb") as out:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
        return key

    def open(self, key: str) -> BinaryIO:
        """Open the key's file for reading."""
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        """Remove the key's file, if it is there."""
        self._path(key).unlink(missing_ok=True)

    def serve(self, key: str, filename: str, content_type: str) -> Response:
        """Send the file itself (the web server may stream it)."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return as_download(
            send_file(path, mimetype=content_type, as_attachment=True, download_name=filename)
        )


class S3Storage:
    """Objects in a bucket of an S3-compatible store (MinIO, or a cloud's)."""

    def __init__(
        self, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str
    ) -> None:
        import boto3  # only this backend needs it
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region or None,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def _missing(self, exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in ("NoSuchKey", "404", "NotFound")

    def save(self, stream: BinaryIO) -> str:
        """Upload the stream as a new object named by a random key."""
        key = new_key()
        self.client.upload_fileobj(stream, self.bucket, key)
        return key

    def open(self, key: str) -> BinaryIO:
        """Download the object into memory (uploads are a few MB at most)."""
        check_key(key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.client.exceptions.ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        with body:
            return io.BytesIO(body.read())

    def delete(self, key: str) -> None:
        """Remove the object (S3 answers the same whether it was there or not)."""
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def serve(self, key: str, filename: str, content_type: str) -> Response:
        """Send the object through the app, which has checked who may see it."""
        stream: IO[bytes] = self.open(key)
        return as_download(
            send_file(stream, mimetype=content_type, as_attachment=True, download_name=filename)
        )


def _settings() -> tuple[Any, ...]:
    config = current_app.config
    kind = str(config.get("STORAGE") or "local").lower()
    if kind == "local":
        folder = config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads"
        return (kind, str(folder))
    if kind == "s3":
        keys = ("S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION")
        return (kind, *(str(config.get(k) or "") for k in keys))
    raise ValueError(f"COORD_STORAGE must be 'local' or 's3', not {kind!r}")


def storage() -> Storage:
    """Return the configured backend (built once per configuration)."""
    settings = _settings()
    built: dict[tuple[Any, ...], Storage] = current_app.extensions.setdefault(_EXTENSION, {})
    rv = built.get(settings)
    if rv is None:
        rv = LocalStorage(settings[1]) if settings[0] == "local" else S3Storage(*settings[1:])
        built[settings] = rv
    return rv
