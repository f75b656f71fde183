"""The audit trail: append events to a SHA-256 hash chain and verify it.

Each event stores the hash of the previous event and its own hash over the previous
hash plus the canonical JSON of its fields, so editing or deleting any row breaks the
chain at that row. Truncating the tail is caught by comparing with a published head
(`chain_head`, shown on the supervision page).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from coord.db import db, utcnow
from coord.models import AuditEvent

GENESIS = "0" * 64
#: Serialises appends on PostgreSQL: an advisory lock on ("cord", the table's oid), so it is
#: per chain; a database-wide key would also serialise (and block on) other schemas' chains.
_PG_LOCK_CLASS = int.from_bytes(b"cord", "big")


def canonical_json(value: Any) -> str:
    """Serialise `value` deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: AuditEvent) -> str:
    """Compute the chain hash of `event` from its fields and its predecessor's hash."""
    fields = {
        "id": event.id,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
        "user_id": event.user_id,
        "actor_id": event.actor_id,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "community_id": event.community_id,
        "is_public": bool(event.is_public),
        "data": event.data or {},
    }
    payload = event.prev_hash + canonical_json(fields)
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    *,
    user_id: int | None = None,
    actor_id: int | None = None,
    community_id: int | None = None,
    is_public: bool = False,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the chain in the current transaction (the caller commits)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key, CAST(CAST(:name AS regclass) AS integer))"),
            {"key": _PG_LOCK_CLASS, "name": AuditEvent.__tablename__},
        )
    head = session.execute(
        sa.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    rv = AuditEvent(
        id=(head.id + 1) if head else 1,
        prev_hash=head.hash if head else GENESIS,
        created_at=utcnow(),
        user_id=user_id,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        community_id=community_id,
        is_public=is_public,
        data=data or {},
    )
    rv.hash = event_hash(rv)
    session.add(rv)
    session.flush()
    return rv


@dataclass(frozen=True)
class ChainBreak:
    """Where and why the chain is broken."""

    event_id: int
    reason: str


def _events(batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        db.session.expunge_all()


def verify_chain() -> tuple[int, ChainBreak | None]:
    """Check every event; return how many were checked and the first break, if any."""
    prev_id, prev_hash, count = 0, GENESIS, 0
    for event in _events():
        count += 1
        if event.id != prev_id + 1:
            return count, ChainBreak(event.id, f"missing event(s) before #{event.id}")
        if event.prev_hash != prev_hash:
            return count, ChainBreak(event.id, "does not link to the previous event")
        if event_hash(event) != event.hash:
            return count, ChainBreak(event.id, "content does not match its hash")
        prev_id, prev_hash = event.id, event.hash
    return count, None


def chain_head() -> tuple[int, str]:
    """Return the id and hash of the newest event (0 and the genesis hash when empty)."""
    row = db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row.id, row.hash) if row else (0, GENESIS)
