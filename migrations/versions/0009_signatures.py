"""deliberation: residents sign their contributions by name or by building

Revision ID: 0009_signatures
Revises: 0008_sealed_ballots
Create Date: 2026-11-26 10:00:00

Existing accounts get the platform default (`resident`, the safer choice) for their next
proposals; every resident who already contributed to a proposal keeps being named there
(a `named` row per proposal and resident), since readers have seen their name.
"""
from alembic import op
import sqlalchemy as sa

import coord.db


# revision identifiers, used by Alembic.
revision = '0009_signatures'
down_revision = '0008_sealed_ballots'
branch_labels = None
depends_on = None

SIGNATURE = sa.Enum('named', 'resident', name='signature', native_enum=False, length=24)

#: (proposal, resident stakeholder) pairs that contributed before signatures existed.
EARLIER_CONTRIBUTORS = """
INSERT INTO proposal_signatures (proposal_id, stakeholder_id, mode, created_at)
SELECT c.proposal_id, c.stakeholder_id, 'named', CURRENT_TIMESTAMP
FROM (
    SELECT proposal_id, actor_id AS stakeholder_id FROM comments
    UNION SELECT proposal_id, stakeholder_id FROM positions
    UNION SELECT proposal_id, actor_id AS stakeholder_id FROM amendments
    UNION SELECT a.proposal_id, s.stakeholder_id FROM amendment_supports s
        JOIN amendments a ON a.id = s.amendment_id
) c
JOIN stakeholders st ON st.id = c.stakeholder_id
WHERE st.kind = 'resident'
"""


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('signature_default', SIGNATURE, server_default='resident', nullable=False)
        )

    op.create_table('proposal_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('stakeholder_id', sa.Integer(), nullable=False),
    sa.Column('mode', SIGNATURE, nullable=False),
    sa.Column('created_at', coord.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', coord.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_signatures_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['stakeholder_id'], ['stakeholders.id'], name=op.f('fk_proposal_signatures_stakeholder_id_stakeholders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_signatures')),
    sa.UniqueConstraint('proposal_id', 'stakeholder_id', name=op.f('uq_proposal_signatures_proposal_id_stakeholder_id'))
    )
    with op.batch_alter_table('proposal_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_signatures_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_signatures_stakeholder_id'), ['stakeholder_id'], unique=False)

    op.execute(EARLIER_CONTRIBUTORS)


def downgrade():
    with op.batch_alter_table('proposal_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_signatures_stakeholder_id'))
        batch_op.drop_index(batch_op.f('ix_proposal_signatures_proposal_id'))

    op.drop_table('proposal_signatures')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('signature_default')
