"""Uploads go through one storage interface: a local folder or an S3-compatible bucket
(here moto's in-process S3 server), chosen by settings; nothing else reads upload paths."""

from __future__ import annotations

import ast
import io
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import tracking_helpers
from tracking_helpers import World, build_world, png

from coord import uploads
from coord.db import db
from coord.storage import LocalStorage, storage
from proposals.models import Attachment

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

#: Uploads into a temporary folder, English messages (an autouse fixture).
tracking_setup = tracking_helpers.tracking_setup


def test_the_local_backend_saves_opens_and_deletes(tmp_path):
    backend = LocalStorage(tmp_path / "files")
    key = backend.save(io.BytesIO(PDF))
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert [p.name for p in (tmp_path / "files").iterdir()] == [key]
    with backend.open(key) as stream:
        assert stream.read() == PDF
    backend.delete(key)
    backend.delete(key)  # deleting twice is harmless
    with pytest.raises(FileNotFoundError):
        backend.open(key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 40, "", "0" * 39, "0" * 40 + "/x"])
def test_malformed_keys_are_never_paths(tmp_path, key):
    backend = LocalStorage(tmp_path)
    for call in (backend.open, backend.delete):
        with pytest.raises(FileNotFoundError):
            call(key)


def test_an_unknown_backend_is_a_clear_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE", "ftp")
    with pytest.raises(ValueError, match="COORD_STORAGE must be 'local' or 's3'"):
        storage()


def test_a_rolled_back_upload_leaves_no_file(app, tmp_path):
    key = uploads.store(PDF)
    assert uploads.load(key) == PDF
    db.session.rollback()
    with pytest.raises(FileNotFoundError):
        uploads.load(key)


def test_a_committed_upload_stays(app):
    key = uploads.store(PDF)
    db.session.commit()
    db.session.rollback()
    assert uploads.load(key) == PDF


def test_only_the_storage_module_knows_where_uploads_are():
    """No module but coord/storage.py reads the upload settings, sends files or talks to S3."""
    offenders = []
    for pkg in ("coord", "stakeholders", "proposals", "voting"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() in ("coord/storage.py", "coord/config.py"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            words = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
            words |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            words |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            words |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            if {"UPLOAD_FOLDER", "S3_BUCKET", "send_file", "boto3", "botocore"} & words:
                offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


# -- S3 (moto's server in this process, on a free port) ----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(app, monkeypatch, s3_endpoint, tmp_path):
    """Configure the app for a fresh bucket; return a boto3 client to look into it."""
    import boto3

    bucket = f"coord-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    settings = {
        "STORAGE": "s3",
        "S3_ENDPOINT": s3_endpoint,
        "S3_BUCKET": bucket,
        "S3_ACCESS_KEY": "office",
        "S3_SECRET_KEY": "office-secret",
        "S3_REGION": "us-east-1",
    }
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="office",
        aws_secret_access_key="office-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    return client


def _keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", [])]


@pytest.fixture
def world(app, community, make_user) -> World:
    return build_world(community, make_user)


def test_s3_upload_fetch_and_delete_through_the_app(world, client, login_as, s3, app, tmp_path):
    photo = png()
    login_as(world.users["chen"])
    response = client.post(
        "/requests/new",
        data={
            "community_id": world.community.id,
            "category": "lighting",
            "title": "路灯不亮",
            "description": "5号楼后面的路灯坏了。",
            "visibility": "public",
            "photos": [(io.BytesIO(photo), "路灯.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    row = db.session.scalar(sa.select(Attachment))
    assert _keys(s3) == [row.storage_key]  # in the bucket under its random key, not its name
    assert not (tmp_path / "uploads").exists()  # and nothing in the local folder

    with client.get(f"/attachments/{row.id}") as fetched:
        assert fetched.status_code == 200
        assert fetched.get_data() == photo
        assert fetched.mimetype == "image/png"
        assert fetched.headers["Content-Disposition"].startswith("attachment;")
        assert fetched.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"

    storage().delete(row.storage_key)
    assert _keys(s3) == []
    assert client.get(f"/attachments/{row.id}").status_code == 404


def test_s3_refused_upload_leaves_no_object(world, client, login_as, s3):
    login_as(world.users["chen"])
    response = client.post(
        "/requests/new",
        data={
            "community_id": world.community.id,
            "category": "lighting",
            "title": "",  # refused after the photo was checked
            "photos": [(io.BytesIO(png()), "x.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert _keys(s3) == []
