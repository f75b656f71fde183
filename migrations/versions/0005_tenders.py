"""tenders: a panel member's share, encrypted until taken

Revision ID: 0005_tenders
Revises: 0004_tenders_plans_requests
Create Date: 2026-11-26 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_tenders'
down_revision = '0004_tenders_plans_requests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('panelists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_sealed', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('panelists', schema=None) as batch_op:
        batch_op.drop_column('share_sealed')
