"""The audit trail: append events to a SHA-256 hash chain, sign checkpoints, verify, export.

Each event stores the hash of the previous event and its own hash over that hash plus the
digest of its fields (`coord.audit_chain`, shared with the standalone verifier), so editing
or deleting a row breaks the chain at that row. Someone who can write the database can
also recompute every later hash; signed checkpoints catch that: an Ed25519 key outside the
database signs the head now and then (the scheduler's tick, bulk operations, the CLI), and
a rewritten or truncated chain no longer matches them. See docs/audit.md.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from coord import audit_chain
from coord.audit_chain import GENESIS, canonical_json
from coord.db import db, utcnow
from coord.models import AuditCheckpoint, AuditEvent

__all__ = ["GENESIS", "canonical_json"]

log = logging.getLogger(__name__)

#: Serialises appends on PostgreSQL: an advisory lock on ("cord", the table's oid), so it is
#: per chain; a database-wide key would also serialise (and block on) other schemas' chains.
_PG_LOCK_CLASS = int.from_bytes(b"cord", "big")


class ChainBroken(Exception):
    """The chain does not link where a checkpoint would sign it."""

    def __init__(self, event_id: int, reason: str) -> None:
        super().__init__(f"event #{event_id} {reason}")
        self.event_id = event_id
        self.reason = reason


def _lock_chain() -> None:
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key, CAST(CAST(:name AS regclass) AS integer))"),
            {"key": _PG_LOCK_CLASS, "name": AuditEvent.__tablename__},
        )


def event_hash(event: Any) -> str:
    """Compute the chain hash of `event` from its fields and its predecessor's hash."""
    return audit_chain.link_hash(
        event.prev_hash, audit_chain.content_digest(audit_chain.event_fields(event))
    )


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
    _lock_chain()
    head_id, head_hash = chain_head()
    rv = AuditEvent(
        id=head_id + 1,
        prev_hash=head_hash,
        created_at=utcnow(),
        user_id=user_id,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        community_id=community_id,
        is_public=is_public,
        data=data or {},
        salt=secrets.token_hex(16),
    )
    rv.hash = event_hash(rv)
    db.session.add(rv)
    db.session.flush()
    return rv


def chain_head() -> tuple[int, str]:
    """Return the id and hash of the newest event (0 and the genesis hash when empty)."""
    row = db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (row.id, row.hash) if row else (0, GENESIS)


# -- Keys -------------------------------------------------------------------------------------


def signing_key() -> Ed25519PrivateKey:
    """Return the key that signs checkpoints (AUDIT_SIGNING_KEY, checked at start-up)."""
    return audit_chain.load_private_key(current_app.config["AUDIT_SIGNING_KEY"])


def public_keys() -> dict[str, Ed25519PublicKey]:
    """Return {key id: key} of the keys checkpoints may carry: the current one first, then
    retired ones still trusted for older checkpoints (AUDIT_PUBLIC_KEYS)."""
    retired = audit_chain.load_public_keys(current_app.config.get("AUDIT_PUBLIC_KEYS") or "")
    return {audit_chain.key_id(k): k for k in [signing_key().public_key(), *retired]}


def public_keys_pem() -> str:
    """Return the public keys as PEM blocks, the current one first (for publishing)."""
    return "".join(audit_chain.public_pem(k) for k in public_keys().values())


# -- Reading in batches -----------------------------------------------------------------------


def _batches(
    column: sa.Column, upper: int | None = None, *, after: int = 0, size: int = 1000
) -> Iterator[list[Any]]:
    """Yield the rows of `column`'s table after `after` up to `upper`, in its order, a batch
    at a time (plain rows, not objects: a long chain never fills the session)."""
    last = after
    while True:
        query = sa.select(*column.table.c).where(column > last).order_by(column).limit(size)
        if upper is not None:
            query = query.where(column <= upper)
        rows = db.session.execute(query).all()
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], column.key)


def _batched(column: sa.Column, upper: int | None = None, *, after: int = 0) -> Iterator[Any]:
    """Yield the rows of `_batches` one by one."""
    for rows in _batches(column, upper, after=after):
        yield from rows


def _link(row: Any) -> audit_chain.Link:
    digest = audit_chain.content_digest(audit_chain.event_fields(row))
    return audit_chain.Link(row.id, row.prev_hash, row.hash, digest)


def _checkpoint(row: Any) -> audit_chain.Checkpoint:
    return audit_chain.Checkpoint(
        position=row.position,
        head_hash=row.head_hash,
        fingerprints=row.fingerprints,
        created_at=row.created_at.isoformat(timespec="microseconds"),
        key_id=row.key_id,
        signature=row.signature,
    )


def _events(upper: int | None = None) -> Iterator[Any]:
    return _batched(AuditEvent.__table__.c.id, upper)


def _checkpoints(upper: int | None = None) -> Iterator[audit_chain.Checkpoint]:
    return (_checkpoint(r) for r in _batched(AuditCheckpoint.__table__.c.position, upper))


# -- Verifying --------------------------------------------------------------------------------


def verify_chain(anchors: Mapping[int, str] | None = None) -> audit_chain.Report:
    """Check every event and every signed checkpoint (and `anchors`: {position: hash}
    published elsewhere); the report names the first event that no longer matches."""
    return audit_chain.verify(
        (_link(row) for row in _events()), _checkpoints(), public_keys(), anchors
    )


# -- Checkpoints ------------------------------------------------------------------------------


def latest_checkpoint() -> AuditCheckpoint | None:
    """Return the checkpoint at the highest position, if any."""
    return db.session.scalar(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.position.desc()).limit(1)
    )


def checkpoint_due(now: datetime) -> bool:
    """Tell whether the head moved since the last checkpoint, and that one is at least
    AUDIT_CHECKPOINT_HOURS old or AUDIT_CHECKPOINT_EVENTS events behind (or missing)."""
    head_id = chain_head()[0]
    last = latest_checkpoint()
    if last is None or head_id <= last.position:
        return last is None and head_id > 0
    config = current_app.config
    return head_id - last.position >= int(config["AUDIT_CHECKPOINT_EVENTS"]) or (
        now - last.created_at >= timedelta(hours=float(config["AUDIT_CHECKPOINT_HOURS"]))
    )


def _checked_hashes(covered: int, prev_hash: str, upto: int) -> list[str]:
    """Return the hashes of events covered+1..upto after checking that they link on from
    the last checkpoint and match their content; raise ChainBroken when they do not."""
    rv: list[str] = []
    prev_id = covered
    for row in _batched(AuditEvent.__table__.c.id, upto, after=covered):
        problem = audit_chain.link_problem(prev_id, prev_hash, _link(row))
        if problem:
            raise ChainBroken(*problem)
        prev_id, prev_hash = row.id, row.hash
        rv.append(row.hash)
    if prev_id != upto:
        raise ChainBroken(prev_id + 1, "is missing")
    return rv


def checkpoint(now: datetime | None = None) -> list[AuditCheckpoint]:
    """Sign the chain up to its head, in checkpoints of at most AUDIT_CHECKPOINT_EVENTS
    events each; write nothing when the head is signed already.

    Refuses (ChainBroken) to sign events that do not link on from the last checkpoint.
    Flushes; the caller commits.
    """
    _lock_chain()
    key = signing_key()
    stamp = (now or utcnow()).astimezone(UTC)
    last = latest_checkpoint()
    covered, prev_hash = (last.position, last.head_hash) if last else (0, GENESIS)
    head_id = chain_head()[0]
    size = max(1, int(current_app.config["AUDIT_CHECKPOINT_EVENTS"]))
    rv = []
    while covered < head_id:
        hashes = _checked_hashes(covered, prev_hash, min(covered + size, head_id))
        signed = audit_chain.sign_checkpoint(
            key, covered + len(hashes), hashes, stamp.isoformat(timespec="microseconds")
        )
        rv.append(
            AuditCheckpoint(
                position=signed.position,
                head_hash=signed.head_hash,
                fingerprints=signed.fingerprints,
                created_at=stamp,
                key_id=signed.key_id,
                signature=signed.signature,
            )
        )
        db.session.add(rv[-1])
        covered, prev_hash = signed.position, signed.head_hash
    db.session.flush()
    return rv


def checkpoint_on_tick(now: datetime) -> int:
    """Sign the head when a checkpoint is due (a `clock_ticked` receiver); return how many
    checkpoints were written. A broken chain is logged, not signed."""
    if not checkpoint_due(now):
        return 0
    try:
        return len(checkpoint(now))
    except ChainBroken as exc:
        log.error("audit chain not signed: %s (run `flask coord audit verify`)", exc)
        return 0


# -- The public export ------------------------------------------------------------------------


def export_lines() -> Iterator[str]:
    """Yield the public export, one JSON document a line: a header, the checkpoints, then
    the events (the fields of public events only), read and sent in batches of 1000 up to
    the head at the start.

    Anyone can check it with `python -m coord.audit_verify` and the public key.
    """
    head_id, head_hash = chain_head()
    header = {
        "type": "header",
        "format": audit_chain.EXPORT_FORMAT,
        "head_id": head_id,
        "head_hash": head_hash,
        "key_ids": list(public_keys()),
    }
    yield canonical_json(header) + "\n"
    for cp in _checkpoints(head_id):
        yield canonical_json(cp.as_record()) + "\n"
    for rows in _batches(AuditEvent.__table__.c.id, head_id):
        yield "".join(
            canonical_json(
                audit_chain.export_record(audit_chain.event_fields(r), r.prev_hash, r.hash)
            )
            + "\n"
            for r in rows
        )
