"""Uploads are checked by content, stripped of metadata, renamed and served as downloads."""

from __future__ import annotations

import struct
import zlib

import pytest

from coord import uploads
from coord.errors import DomainError

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _png(*extra: bytes) -> bytes:
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = _png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(extra) + idat + _png_chunk(b"IEND", b"")


def _jpeg_with_exif() -> bytes:
    exif = b"\xff\xe1" + struct.pack(">H", 2 + 14) + b"Exif\x00\x00GPS-LAT!"
    quant = b"\xff\xdb" + struct.pack(">H", 2 + 3) + b"\x00\x01\x02"
    return b"\xff\xd8" + exif + quant + b"\xff\xda\x00\x02scan-data\xff\xd9"


def test_pdf_is_accepted_by_content_and_renamed():
    checked = uploads.check_upload(
        "../../etc/方案.exe", PDF_BYTES, allowed=frozenset({uploads.PDF})
    )
    assert checked.filename == "方案.pdf" and checked.content_type == uploads.PDF


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("fake.pdf", b"<html><script>alert(1)</script></html>"),
        ("image.pdf", _png()),
        ("empty.pdf", b""),
        ("svg.pdf", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    ],
)
def test_non_pdf_content_is_refused(name, data):
    with pytest.raises(DomainError):
        uploads.check_upload(name, data, allowed=frozenset({uploads.PDF}))


def test_size_limit():
    with pytest.raises(DomainError) as exc:
        uploads.check_upload(
            "a.pdf", PDF_BYTES + b"x" * 2048, allowed=frozenset({uploads.PDF}), max_bytes=1024
        )
    assert "larger" in exc.value.message


def test_png_metadata_is_stripped():
    data = _png(_png_chunk(b"tEXt", b"GPS\x0039.9,116.4"), _png_chunk(b"eXIf", b"MM\x00*gps"))
    checked = uploads.check_upload("photo.png", data, allowed=frozenset({uploads.PNG}))
    assert b"GPS" not in checked.data and b"eXIf" not in checked.data
    assert (
        checked.data.startswith(b"\x89PNG")
        and b"IDAT" in checked.data
        and checked.data.endswith(b"IEND\xaeB`\x82")
    )


def test_jpeg_exif_is_stripped():
    checked = uploads.check_upload(
        "photo.jpeg", _jpeg_with_exif(), allowed=frozenset({uploads.JPEG})
    )
    assert (
        b"GPS-LAT" not in checked.data
        and b"scan-data" in checked.data
        and b"\xff\xdb" in checked.data
    )


def test_damaged_image_is_refused():
    with pytest.raises(DomainError):
        uploads.check_upload(
            "x.png", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xffIHDR", allowed=frozenset({uploads.PNG})
        )


def test_store_and_download(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    try:
        key = uploads.store(PDF_BYTES)
        assert uploads.load(key) == PDF_BYTES
        with app.test_request_context():
            response = uploads.download(key, "方案.pdf", uploads.PDF)
            response.direct_passthrough = False
            assert response.get_data() == PDF_BYTES
            response.close()
            assert "attachment" in response.headers["Content-Disposition"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in response.headers["Content-Security-Policy"]
        with pytest.raises(FileNotFoundError):
            uploads.load("../../etc/passwd")
    finally:
        app.config.pop("UPLOAD_FOLDER")
