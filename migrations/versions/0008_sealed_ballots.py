"""voting: sealed (encrypted) ballots of open secret polls

Revision ID: 0008_sealed_ballots
Revises: 0007_tracking_dashboard
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_sealed_ballots'
down_revision = '0007_tracking_dashboard'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sealed_ballots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_sealed_ballots_poll_id_polls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_ballots'))
    )
    with op.batch_alter_table('sealed_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sealed_ballots_poll_id'), ['poll_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sealed_ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sealed_ballots_poll_id'))

    op.drop_table('sealed_ballots')
