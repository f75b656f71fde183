"""Time the audit chain's checkpoints, verification and public export on 100,000 events.

Run ``.venv/bin/python benchmarks/audit_chain.py`` (SQLite, in a temporary folder).

It bulk inserts a chain (one event in five private, carrying a phone number) hashed with
the project's own functions, then prints: signing it (100 checkpoints of 1,000 events),
`flask coord audit verify`'s work, streaming the export through the test client (its size
and the peak memory Python allocated meanwhile) and the standalone verifier on that file.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.fernet import Fernet
from flask_migrate import upgrade

from coord import audit, audit_chain, create_app
from coord.audit_verify import check
from coord.db import db
from coord.models import AuditEvent

EVENTS = 100_000
CHUNK = 5_000


def _rows() -> list[dict]:
    rv, prev = [], audit_chain.GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(1, EVENTS + 1):
        public = i % 5 != 0
        row = {
            "id": i,
            "created_at": start + timedelta(seconds=i * 30),
            "user_id": i % 500,
            "actor_id": i % 300,
            "action": "residence.verify" if public else "resident.read",
            "subject_type": "stakeholder",
            "subject_id": i % 700,
            "community_id": i % 20,
            "is_public": public,
            "data": {} if public else {"phone": "13812345678", "purpose": "核实住址"},
            "salt": secrets.token_hex(16),
        }
        digest = audit_chain.content_digest(audit_chain.event_fields(type("E", (), row)))
        row["prev_hash"], row["hash"] = prev, audit_chain.link_hash(prev, digest)
        prev = row["hash"]
        rv.append(row)
    return rv


def _download(client, path: Path) -> None:
    with path.open("wb") as out:
        answer = client.get("/supervision/audit.jsonl", buffered=False)
        for part in answer.response:
            out.write(part if isinstance(part, bytes) else part.encode())
        answer.close()


def _timed(label: str, action):
    t0 = time.perf_counter()
    rv = action()
    print(f"{label}: {time.perf_counter() - t0:.2f} s")
    return rv


def main() -> None:
    """Build the chain and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "ENV": "testing",
                "DATABASE_URL": f"sqlite:///{folder}/bench.db",
                "SECRET_KEY": "bench",
                "DATA_KEY": Fernet.generate_key().decode(),
                "AUDIT_SIGNING_KEY": audit_chain.new_private_key(),
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            upgrade()
            rows = _timed(f"hash {EVENTS:,} events (pure)", _rows)
            for i in range(0, EVENTS, CHUNK):
                db.session.execute(sa.insert(AuditEvent), rows[i : i + CHUNK])
            db.session.commit()
            written = _timed("sign them (audit.checkpoint)", audit.checkpoint)
            db.session.commit()
            print(f"  {len(written)} checkpoints")
            report = _timed("verify events and checkpoints", audit.verify_chain)
            assert report.broken is None and report.checkpoints == len(written)
            export = Path(folder) / "audit.jsonl"
            key = Path(folder) / "key.pem"
            key.write_text(audit.public_keys_pem())
            client = app.test_client()
            _timed("stream the export", lambda: _download(client, export))
            tracemalloc.start()
            _download(client, export)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"  {export.stat().st_size / 1e6:.1f} MB, peak Python memory {peak / 1e6:.1f} MB")
        report = _timed("standalone verifier on the export", lambda: check(export, [str(key)]))
        assert report.broken is None and report.events == EVENTS


if __name__ == "__main__":
    main()
