"""audit: signed checkpoints; salted events hashed as sha256(prev_hash + content digest)

The chain's hash formula changes from sha256(prev_hash + canonical fields) to
sha256(prev_hash + sha256(canonical fields)), the fields now including a random salt, so
that the public can check the links of events whose fields it may not see (docs/audit.md).
The upgrade therefore gives every existing event a salt and recomputes every hash: a
one-time, trusted upgrade. Verify the chain with `flask coord audit verify` just before it
(the old formula), run it, then sign the result at once with `flask coord audit
checkpoint`; whoever runs it could rewrite history unnoticed, as a database administrator
always could before checkpoints existed. The downgrade restores the old formula.

Revision ID: 0010_audit_checkpoints
Revises: 0009_signatures
Create Date: 2026-11-27 10:00:00

"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa

import coord.db
from coord import audit_chain


# revision identifiers, used by Alembic.
revision = '0010_audit_checkpoints'
down_revision = '0009_signatures'
branch_labels = None
depends_on = None

BATCH = 1000

events = sa.table(
    'audit_events',
    sa.column('id', sa.Integer()),
    sa.column('created_at', coord.db.UTCDateTime()),
    sa.column('user_id', sa.Integer()),
    sa.column('actor_id', sa.Integer()),
    sa.column('action', sa.String()),
    sa.column('subject_type', sa.String()),
    sa.column('subject_id', sa.Integer()),
    sa.column('community_id', sa.Integer()),
    sa.column('is_public', sa.Boolean()),
    sa.column('data', sa.JSON()),
    sa.column('salt', sa.String()),
    sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)


def _new_hash(row, prev_hash):
    """The formula from this revision on (coord.audit_chain), with a fresh salt."""
    fields = audit_chain.event_fields(row)
    fields['salt'] = secrets.token_hex(16)
    digest = audit_chain.content_digest(fields)
    return {'salt': fields['salt'], 'hash': audit_chain.link_hash(prev_hash, digest)}


def _old_hash(row, prev_hash):
    """The formula before this revision: sha256(prev_hash + canonical JSON, no salt)."""
    fields = audit_chain.event_fields(row)
    del fields['salt']
    payload = prev_hash + audit_chain.canonical_json(fields)
    return {'hash': hashlib.sha256(payload.encode()).hexdigest()}


def _rehash(formula, columns):
    """Recompute every event's prev_hash and hash (and the `columns` the formula sets) in id
    order, a batch at a time."""
    conn = op.get_bind()
    update = (
        events.update()
        .where(events.c.id == sa.bindparam('b_id'))
        .values({c: sa.bindparam(f'b_{c}') for c in ('prev_hash', 'hash', *columns)})
    )
    last, prev_hash = 0, audit_chain.GENESIS
    while True:
        rows = conn.execute(
            sa.select(events).where(events.c.id > last).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        params = []
        for row in rows:
            values = formula(row, prev_hash)
            params.append({'b_id': row.id, 'b_prev_hash': prev_hash, **{f'b_{k}': v for k, v in values.items()}})
            prev_hash = values['hash']
        conn.execute(update, params)
        last = rows[-1].id


def upgrade():
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('fingerprints', sa.Text(), nullable=False),
    sa.Column('created_at', coord.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('position', name=op.f('uq_audit_checkpoints_position'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('salt', sa.String(length=32), nullable=True))
    _rehash(_new_hash, ['salt'])
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('salt', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    _rehash(_old_hash, [])
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('salt')
    op.drop_table('audit_checkpoints')
