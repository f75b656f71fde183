"""The audit trail: append, sign checkpoints, verify, and catch a database administrator who
rewrites, rehashes or truncates the chain."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from coord import audit, audit_chain, crypto
from coord.app import ConfigError
from coord.db import db, utcnow
from coord.models import AuditCheckpoint, AuditEvent


def _append(n: int) -> list[AuditEvent]:
    rv = [
        audit.record("test.action", "thing", i, user_id=1, actor_id=2, data={"n": i, "名": "兰苑"})
        for i in range(n)
    ]
    db.session.commit()
    return rv


def _signed(n: int) -> list[AuditCheckpoint]:
    """Append n events and sign them."""
    _append(n)
    rv = audit.checkpoint()
    db.session.commit()
    return rv


def _rewrite(event_id: int, **values) -> None:
    """What a database administrator can do: change an event, then recompute its hash and
    every later one with the project's own functions, so that the chain links again."""
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(**values))
    db.session.expire_all()
    prev = db.session.get(AuditEvent, event_id - 1)
    prev_hash = prev.hash if prev else audit.GENESIS
    for event in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.id >= event_id).order_by(AuditEvent.id)
    ):
        event.prev_hash = prev_hash
        event.hash = prev_hash = audit.event_hash(event)
        db.session.flush()
    db.session.commit()


def test_events_chain_from_genesis(app):
    events = _append(3)
    assert [e.id for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.salt for e in events}) == 3
    digest = audit_chain.content_digest(audit_chain.event_fields(events[1]))
    assert events[1].hash == audit_chain.link_hash(events[0].hash, digest)
    report = audit.verify_chain()
    assert (report.broken, report.events, report.uncovered) == (None, 3, 3)
    assert audit.chain_head() == (3, events[2].hash)


def test_hash_survives_a_database_round_trip(app):
    _append(2)
    db.session.expunge_all()
    for event in db.session.scalars(sa.select(AuditEvent)):
        assert audit.event_hash(event) == event.hash


def test_edited_row_is_named(app):
    _append(4)
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == 2).values(data={"n": 99}))
    db.session.commit()
    assert audit.verify_chain().broken == audit_chain.Break(2, "content does not match its hash")


def test_a_rewritten_and_rehashed_chain_fails_at_the_rewritten_event(app):
    _signed(6)
    _append(2)
    _rewrite(3, data={"n": 99})
    report = audit.verify_chain()
    assert report.broken == audit_chain.Break(
        3, "differs from the signed checkpoint at #6 (rewritten)"
    )


def test_a_rewrite_after_the_last_checkpoint_is_only_caught_by_a_published_head(app):
    _signed(3)
    head_hash = _append(2)[-1].hash
    _rewrite(5, action="forged")
    report = audit.verify_chain()
    assert report.broken is None and report.uncovered == 2  # not yet covered: undetectable
    assert audit.verify_chain({5: head_hash}).broken.event_id == 5


def test_deleting_the_newest_rows_behind_a_checkpoint_fails(app):
    _signed(5)
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id >= 4))
    db.session.commit()
    broken = audit.verify_chain().broken
    assert broken.event_id == 4 and "truncated" in broken.reason


def test_a_deleted_row_is_named(app):
    _append(4)
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == 3))
    db.session.commit()
    assert audit.verify_chain().broken == audit_chain.Break(3, "is missing (the next event is #4)")


def test_a_checkpoint_signed_with_another_key_fails(app):
    checkpoint = _signed(3)[0]
    forged = audit_chain.sign_checkpoint(
        Ed25519PrivateKey.generate(),
        3,
        [e.hash for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))],
        checkpoint.created_at.isoformat(timespec="microseconds"),
    )
    checkpoint.signature = forged.signature  # keeps the genuine key id
    db.session.commit()
    assert "signature is invalid" in audit.verify_chain().broken.reason
    checkpoint.key_id = forged.key_id
    db.session.commit()
    assert "unknown key" in audit.verify_chain().broken.reason


def test_checkpoint_signs_segments_and_skips_an_unchanged_head(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVENTS", 2)
    written = _signed(5)
    assert [(c.position, len(c.fingerprints)) for c in written] == [(2, 32), (4, 32), (5, 16)]
    assert written[-1].head_hash == audit.chain_head()[1]
    assert audit.checkpoint() == []
    report = audit.verify_chain()
    assert (report.broken, report.checkpoints, report.uncovered) == (None, 3, 0)


def test_checkpoint_refuses_to_sign_a_broken_chain(app):
    _append(3)
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == 2).values(action="forged"))
    with pytest.raises(audit.ChainBroken, match="#2 content does not match"):
        audit.checkpoint()


def test_retired_keys_still_verify_their_checkpoints(app, make_app):
    _signed(2)
    old_public = audit.public_keys_pem()
    _append(1)
    rotated = make_app(AUDIT_PUBLIC_KEYS=old_public)
    with rotated.app_context():
        assert [c.position for c in audit.checkpoint()] == [3]
        db.session.commit()
        assert audit.verify_chain().checkpoints == 2
    assert "unknown key" in audit.verify_chain().broken.reason  # without the new key


def test_tick_writes_a_checkpoint_once_then_only_when_due(app, runner):
    _append(2)
    first = runner.invoke(args=["coord", "tick"])
    assert "coord.audit.checkpoint_on_tick: 1" in first.output, first.output
    assert "coord.audit.checkpoint_on_tick: 0" in runner.invoke(args=["coord", "tick"]).output
    _append(1)
    assert audit.checkpoint_on_tick(utcnow()) == 0  # moved, but signed less than a day ago
    assert audit.checkpoint_on_tick(utcnow() + timedelta(hours=25)) == 1
    assert audit.checkpoint_on_tick(utcnow() + timedelta(hours=50)) == 0  # head unchanged
    db.session.commit()
    assert db.session.scalars(sa.select(AuditCheckpoint.position)).all() == [2, 3]


def test_tick_signs_when_far_behind(app, monkeypatch):
    _signed(1)
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_EVENTS", 3)
    _append(2)
    assert audit.checkpoint_on_tick(utcnow()) == 0
    _append(1)
    assert audit.checkpoint_on_tick(utcnow()) == 1


def test_tick_logs_a_broken_chain_instead_of_signing_it(app, caplog):
    _append(2)
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == 1).values(action="forged"))
    assert audit.checkpoint_on_tick(utcnow()) == 0
    assert "event #1 content does not match its hash" in caplog.text
    assert db.session.scalar(sa.select(sa.func.count(AuditCheckpoint.id))) == 0


def test_cli_verify_reports_checkpoints_and_exits_nonzero_on_tampering(app, runner):
    _signed(3)
    _append(1)
    ok = runner.invoke(args=["coord", "audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "OK: 4 events" in ok.output
    assert "Checkpoints: 1 valid, the latest at #3" in ok.output
    assert "Not yet covered: 1 event(s) after the last signed checkpoint (#4–#4)" in ok.output
    _rewrite(1, action="forged")
    bad = runner.invoke(args=["coord", "audit", "verify"])
    assert bad.exit_code == 1
    assert "BROKEN at event #1: differs from the signed checkpoint at #3" in bad.output


def test_cli_verify_checks_published_heads(app, runner):
    events = _append(2)
    ok = runner.invoke(args=["coord", "audit", "verify", "--expect", f"2:{events[1].hash}"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(args=["coord", "audit", "verify", "--expect", f"3:{events[1].hash}"])
    assert bad.exit_code == 1 and "BROKEN at event #3" in bad.output
    assert runner.invoke(args=["coord", "audit", "verify", "--expect", "x"]).exit_code == 2


def test_cli_checkpoint(app, runner):
    _append(2)
    signed = runner.invoke(args=["coord", "audit", "checkpoint"])
    assert signed.exit_code == 0 and "Signed #2" in signed.output
    again = runner.invoke(args=["coord", "audit", "checkpoint"])
    assert "nothing to do" in again.output
    _append(1)
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == 3).values(action="forged"))
    db.session.commit()
    refused = runner.invoke(args=["coord", "audit", "checkpoint"])
    assert refused.exit_code == 1 and "not signed: event #3" in refused.output


def test_demo_load_is_signed(app):
    from coord.cli import load_demo

    assert load_demo()
    checkpoint = audit.latest_checkpoint()
    assert checkpoint is not None and checkpoint.position == audit.chain_head()[0]


def test_production_requires_a_signing_key(make_bare_app):
    with pytest.raises(ConfigError, match="COORD_AUDIT_SIGNING_KEY"):
        make_bare_app(ENV="production", SECRET_KEY="a-real-secret", AUDIT_SIGNING_KEY="")
    with pytest.raises(ConfigError, match="Ed25519"):
        make_bare_app(AUDIT_SIGNING_KEY="bm90IGEga2V5")


def test_development_generates_a_signing_key_into_the_instance_folder(tmp_path):
    app = Flask("trial", instance_path=str(tmp_path))
    app.config.update(ENV="development", AUDIT_SIGNING_KEY="", AUDIT_PUBLIC_KEYS="")
    crypto.load_signing_key(app)
    key = app.config["AUDIT_SIGNING_KEY"]
    assert audit_chain.load_private_key(key)
    assert (tmp_path / "audit-signing.key").read_text() == key
    assert (tmp_path / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    again = Flask("trial", instance_path=str(tmp_path))
    again.config.update(ENV="development", AUDIT_SIGNING_KEY="")
    crypto.load_signing_key(again)
    assert again.config["AUDIT_SIGNING_KEY"] == key


def test_a_signing_key_file_is_read(tmp_path):
    path = tmp_path / "signing.key"
    path.write_text(audit_chain.new_private_key() + "\n")
    app = Flask("prod", instance_path=str(tmp_path / "instance"))
    app.config.update(ENV="production", AUDIT_SIGNING_KEY="", AUDIT_SIGNING_KEY_FILE=str(path))
    crypto.load_signing_key(app)
    assert app.config["AUDIT_SIGNING_KEY"] == path.read_text()
    assert not (tmp_path / "instance").exists()
    app.config.update(AUDIT_SIGNING_KEY="", AUDIT_SIGNING_KEY_FILE=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="cannot be read"):
        crypto.load_signing_key(app)


def test_the_upgrade_rehashes_an_old_chain_once_and_the_downgrade_restores_it(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    if db.engine.dialect.name != "sqlite":
        pytest.skip("runs once, on a SQLite file of its own")
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="0007_tracking_dashboard")
        old, prev = [], audit.GENESIS
        for i in (1, 2, 3):
            fields = {
                "id": i,
                "created_at": f"2026-01-0{i}T00:00:00.000000+00:00",
                "user_id": i,
                "actor_id": None,
                "action": "user.disable",
                "subject_type": "user",
                "subject_id": 9,
                "community_id": None,
                "is_public": i != 2,
                "data": {"名": "兰苑"},
            }
            prev = hashlib.sha256((prev + audit.canonical_json(fields)).encode()).hexdigest()
            old.append(prev)
            db.session.execute(
                sa.text(
                    "INSERT INTO audit_events (id, created_at, user_id, action, subject_type, "
                    "subject_id, is_public, data, prev_hash, hash) VALUES (:id, :at, :id, "
                    "'user.disable', 'user', 9, :public, :data, :prev, :hash)"
                ),
                {
                    "id": i,
                    "at": f"2026-01-0{i} 00:00:00.000000",
                    "public": i != 2,
                    "data": '{"名": "兰苑"}',
                    "prev": old[-2] if i > 1 else audit.GENESIS,
                    "hash": prev,
                },
            )
        db.session.commit()
        upgrade()
        report = audit.verify_chain()
        assert (report.broken, report.events) == (None, 3)
        rows = db.session.execute(sa.select(AuditEvent.salt, AuditEvent.hash)).all()
        assert len({r.salt for r in rows}) == 3 and not {r.hash for r in rows} & set(old)
        db.session.rollback()  # the migration runs on a connection of its own
        downgrade(revision="0007_tracking_dashboard")
        restored = db.session.execute(sa.text("SELECT hash FROM audit_events ORDER BY id"))
        assert restored.scalars().all() == old
        db.session.commit()
