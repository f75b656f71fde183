"""The audit trail's hash chain: append, verify, and catch tampering."""

from __future__ import annotations

import sqlalchemy as sa

from coord import audit
from coord.db import db
from coord.models import AuditEvent


def _append(n: int) -> list[AuditEvent]:
    rv = [
        audit.record("test.action", "thing", i, user_id=1, actor_id=2, data={"n": i, "名": "兰苑"})
        for i in range(n)
    ]
    db.session.commit()
    return rv


def test_events_chain_from_genesis(app):
    events = _append(3)
    assert [e.id for e in events] == [1, 2, 3]
    assert events[0].prev_hash == audit.GENESIS
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert audit.verify_chain() == (3, None)
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
    _count, broken = audit.verify_chain()
    assert broken is not None
    assert broken.event_id == 2
    assert "hash" in broken.reason


def test_rehashed_row_breaks_the_next_link(app):
    events = _append(4)
    forged = AuditEvent(
        **{c.name: getattr(events[1], c.name) for c in AuditEvent.__table__.columns}
    )
    forged.data = {"n": 99}
    new_hash = audit.event_hash(forged)
    db.session.execute(
        sa.update(AuditEvent).where(AuditEvent.id == 2).values(data={"n": 99}, hash=new_hash)
    )
    db.session.commit()
    _count, broken = audit.verify_chain()
    assert broken.event_id == 3
    assert "link" in broken.reason


def test_deleted_row_is_detected(app):
    _append(4)
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == 3))
    db.session.commit()
    _count, broken = audit.verify_chain()
    assert broken.event_id == 4


def test_cli_verify_exits_nonzero_on_tampering(app, runner):
    _append(3)
    ok = runner.invoke(args=["coord", "audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "OK: 3 events" in ok.output
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == 1).values(action="forged"))
    db.session.commit()
    bad = runner.invoke(args=["coord", "audit", "verify"])
    assert bad.exit_code == 1
    assert "#1" in bad.output
