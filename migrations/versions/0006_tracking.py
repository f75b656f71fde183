"""tracking: each custody's first response

Revision ID: 0006_tracking
Revises: 0005_tenders
Create Date: 2026-11-25 18:00:00

"""
import sqlalchemy as sa
from alembic import op

import coord.db

# revision identifiers, used by Alembic.
revision = '0006_tracking'
down_revision = '0005_tenders'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('responded_at', coord.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.drop_column('responded_at')
