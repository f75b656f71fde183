"""tracking: working-day durations stored when answered and resolved; dashboard indexes

Revision ID: 0007_tracking_dashboard
Revises: 0006_tracking
Create Date: 2026-11-25 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_tracking_dashboard'
down_revision = '0006_tracking'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_workdays', sa.Double(), nullable=True))
        batch_op.create_index('ix_request_events_custody', ['type', 'request_id', 'to_handler_id', 'responded_at', 'response_workdays'], unique=False)

    with op.batch_alter_table('tracked_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution_workdays', sa.Double(), nullable=True))
        batch_op.create_index('ix_tracked_requests_dashboard', ['community_id', 'submitted_at', 'handler_id', 'assigned_at', 'resolved_at', 'closed_at', 'first_response_at', 'first_response_due_at', 'resolution_due_at', 'satisfaction', 'reopen_count', 'resolution_workdays'], unique=False)


def downgrade():
    with op.batch_alter_table('tracked_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_tracked_requests_dashboard')
        batch_op.drop_column('resolution_workdays')

    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.drop_index('ix_request_events_custody')
        batch_op.drop_column('response_workdays')
