"""tracking: local adjustments of the working-day calendar, and years declared complete

Revision ID: 0012_workday_adjustments
Revises: 0011_organisation_identity
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import coord.db


# revision identifiers, used by Alembic.
revision = '0012_workday_adjustments'
down_revision = '0011_organisation_identity'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('workday_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', coord.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_workday_adjustments_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workday_adjustments')),
    sa.UniqueConstraint('day', name=op.f('uq_workday_adjustments_day'))
    )
    op.create_table('workday_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', coord.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_workday_years_created_by_id_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_workday_years'))
    )


def downgrade():
    op.drop_table('workday_years')
    op.drop_table('workday_adjustments')
