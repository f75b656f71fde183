"""proposals: the recorded decision (text, who decided as which stakeholder, when)

Revision ID: 0013_decisions
Revises: 0012_workday_adjustments
Create Date: 2026-12-02 17:10:00

Proposals decided before this revision keep an empty decision; their timeline still
shows the transition.
"""
from alembic import op
import sqlalchemy as sa

import coord.db


# revision identifiers, used by Alembic.
revision = '0013_decisions'
down_revision = '0012_workday_adjustments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_as_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', coord.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_proposals_decided_by_id_users'), 'users', ['decided_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_proposals_decided_as_id_stakeholders'), 'stakeholders', ['decided_as_id'], ['id'])


def downgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_proposals_decided_as_id_stakeholders'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_proposals_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_as_id')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('decision_text')
