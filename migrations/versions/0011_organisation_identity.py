"""stakeholders: organisations' normalised names and unified social credit codes, both unique

Revision ID: 0011_organisation_identity
Revises: 0010_audit_checkpoints
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa

from stakeholders.names import name_key


# revision identifiers, used by Alembic.
revision = '0011_organisation_identity'
down_revision = '0010_audit_checkpoints'
branch_labels = None
depends_on = None


def _fill_name_keys():
    """Key every organisation's name; of namesakes, the confirmed then the oldest keeps it.

    The others stay without a key (and unconfirmed, so marked) for the street office to sort out.
    """
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, name FROM stakeholders WHERE kind <> 'resident' "
        "ORDER BY is_confirmed DESC, id"
    )).all()
    taken = set()
    for row in rows:
        key = name_key(row.name)
        if key and key not in taken:
            taken.add(key)
            conn.execute(
                sa.text("UPDATE stakeholders SET name_key = :key WHERE id = :id"),
                {"key": key, "id": row.id},
            )


def upgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('credit_code', sa.String(length=18), nullable=True))
    _fill_name_keys()
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stakeholders_name_key'), ['name_key'], unique=True)
        batch_op.create_index(batch_op.f('ix_stakeholders_credit_code'), ['credit_code'], unique=True)


def downgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholders_credit_code'))
        batch_op.drop_index(batch_op.f('ix_stakeholders_name_key'))
        batch_op.drop_column('credit_code')
        batch_op.drop_column('name_key')
