"""The audit trail in public: the supervision page's checkpoint, the export and its key, and
the standalone verifier that checks an export without the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from coord import audit, audit_chain
from coord.audit_verify import check
from coord.db import db
from coord.models import AuditCheckpoint

ROOT = Path(__file__).resolve().parents[2]
SECRET = "13812345678"
#: Runs the verifier with Flask, SQLAlchemy and the app's database module unimportable.
WITHOUT_FLASK = (
    "import runpy, sys\n"
    "for name in ('flask', 'flask_sqlalchemy', 'sqlalchemy', 'coord.db', 'coord.app'):\n"
    "    sys.modules[name] = None\n"
    "sys.argv[0] = 'coord.audit_verify'\n"
    "runpy.run_module('coord.audit_verify', run_name='__main__', alter_sys=True)\n"
)


def _chain() -> None:
    """Two public events, a private one holding personal data, signed, then one more."""
    audit.record("residence.verify", "stakeholder", 7, actor_id=3, is_public=True)
    audit.record("resident.read", "user", 9, user_id=4, data={"phone": SECRET, "purpose": "核实"})
    audit.record("organisation.confirm", "stakeholder", 8, actor_id=3, is_public=True)
    audit.checkpoint()
    audit.record("user.disable", "user", 9, user_id=4, is_public=True)
    db.session.commit()


def _export(client, tmp_path: Path) -> tuple[Path, Path]:
    answer = client.get("/supervision/audit.jsonl")
    assert answer.status_code == 200
    assert answer.mimetype == "application/x-ndjson"
    assert "attachment" in answer.headers["Content-Disposition"]
    key = client.get("/supervision/audit-public-key")
    assert key.mimetype == "text/plain"
    (tmp_path / "audit.jsonl").write_bytes(answer.data)
    (tmp_path / "key.pem").write_bytes(key.data)
    return tmp_path / "audit.jsonl", tmp_path / "key.pem"


def _verify(*args: str | Path, without_flask: bool = False) -> subprocess.CompletedProcess:
    command = ["-c", WITHOUT_FLASK] if without_flask else ["-m", "coord.audit_verify"]
    return subprocess.run(
        [sys.executable, *command, *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=30,
        check=False,
    )


def _edit(path: Path, event_id: int, change) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for record in lines:
        if record.get("type") == "event" and record["id"] == event_id:
            change(record)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))


def test_the_export_hides_private_events_fields(app, client):
    _chain()
    answer = client.get("/supervision/audit.jsonl")
    records = [json.loads(line) for line in answer.data.splitlines()]
    assert records[0] == {
        "type": "header",
        "format": "coord-audit/1",
        "head_id": 4,
        "head_hash": audit.chain_head()[1],
        "key_ids": list(audit.public_keys()),
    }
    assert [r["type"] for r in records[1:]] == ["checkpoint", "event", "event", "event", "event"]
    assert records[1]["position"] == 3
    private = records[3]
    assert set(private) == {"type", "id", "prev_hash", "hash", "content_digest"}
    assert records[2]["fields"]["action"] == "residence.verify"
    text = answer.get_data(as_text=True)
    assert SECRET not in text and "核实" not in text and "resident.read" not in text


def test_a_get_of_the_export_writes_nothing(app, client):
    audit.record("user.disable", "user", 1, is_public=True)
    db.session.commit()
    client.get("/supervision/audit.jsonl")
    client.get("/supervision")
    assert db.session.scalar(sa.select(sa.func.count(AuditCheckpoint.id))) == 0


def test_the_export_verifies_in_process(app, client, tmp_path):
    _chain()
    export, key = _export(client, tmp_path)
    report = check(export, [str(key)])
    assert (report.broken, report.events, report.checkpoints, report.uncovered) == (None, 4, 1, 1)
    stranger = audit_chain.load_private_key(audit_chain.new_private_key())
    other = audit_chain.public_pem(stranger.public_key())
    assert "unknown key" in check(export, [other]).broken.reason


@pytest.mark.parametrize("without_flask", [False, True])
def test_the_standalone_verifier_passes_a_good_export(app, client, tmp_path, without_flask):
    _chain()
    export, key = _export(client, tmp_path)
    done = _verify(export, "--public-key", key, without_flask=without_flask)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"OK: 4 events, head #4 {audit.chain_head()[1]}"
    assert "Not yet covered: 1 event(s)" in done.stdout


def test_the_standalone_verifier_names_a_tampered_event(app, client, tmp_path):
    _chain()
    export, key = _export(client, tmp_path)
    _edit(export, 3, lambda r: r["fields"].update(action="organisation.reject"))
    done = _verify(export, "--public-key", key, without_flask=True)
    assert done.returncode == 1
    assert done.stderr.startswith("BROKEN at event #3: content does not match its hash")


def test_the_standalone_verifier_catches_a_rehashed_export(app, client, tmp_path):
    """Someone rewrites event 2's digest and relinks every later event: the signature holds."""
    _chain()
    export, key = _export(client, tmp_path)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    prev = lines[2]["hash"]
    for record in lines[3:]:
        record["prev_hash"] = prev
        if record["id"] == 2:
            record["content_digest"] = "0" * 64
        digest = record["content_digest"]
        if "fields" in record:
            digest = audit_chain.content_digest(record["fields"])
        record["hash"] = prev = audit_chain.link_hash(record["prev_hash"], digest)
    lines[0]["head_hash"] = prev
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
    done = _verify(export, "--public-key", key)
    assert done.returncode == 1
    assert done.stderr.startswith("BROKEN at event #2: differs from the signed checkpoint at #3")


def test_the_standalone_verifier_catches_a_cut_export_and_bad_input(app, client, tmp_path):
    _chain()
    export, key = _export(client, tmp_path)
    export.write_text("".join(export.read_text().splitlines(keepends=True)[:-1]))
    done = _verify(export, "--public-key", key)
    assert done.returncode == 1 and done.stderr.startswith("BROKEN at event #4: is missing")
    assert _verify(export, "--public-key", "not-a-key").returncode == 2
    assert _verify(tmp_path / "none.jsonl", "--public-key", key).returncode == 2
    export.write_text('{"type": "header"}\n')
    assert "not a coord-audit/1 export" in _verify(export, "--public-key", key).stderr


def test_the_supervision_page_shows_the_latest_checkpoint_to_anyone(app, client):
    _chain()
    checkpoint = audit.latest_checkpoint()
    page = client.get("/supervision")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for value in (checkpoint.head_hash, checkpoint.signature, checkpoint.key_id):
        assert value in html
    assert 'href="/supervision/audit.jsonl"' in html
    assert 'href="/supervision/audit-public-key"' in html
    pem = client.get("/supervision/audit-public-key").get_data(as_text=True)
    assert audit_chain.key_id(audit_chain.load_public_keys(pem)[0]) == checkpoint.key_id


def test_the_supervision_page_says_when_nothing_is_signed_yet(app, client):
    from helpers import use_english

    use_english(client)
    html = client.get("/supervision").get_data(as_text=True)
    assert "No checkpoint has been signed yet." in html
