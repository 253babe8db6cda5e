"""displays: what the server sent each display, suspicious devices (evidence only from the truth)

Revision ID: 0007_display_evidence
Revises: 0006_alert_confirmation
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa
import server.models.types


# revision identifiers, used by Alembic.
revision = '0007_display_evidence'
down_revision = '0006_alert_confirmation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('display_sent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('display_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ref_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('version_hash', sa.String(length=64), nullable=True),
    sa.Column('sent_from', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_until', server.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['display_id'], ['display.id'], name=op.f('fk_display_sent_display_id_display'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_display_sent'))
    )
    with op.batch_alter_table('display_sent', schema=None) as batch_op:
        batch_op.create_index('ix_display_sent_lookup', ['display_id', 'kind', 'ref_id'], unique=False)

    with op.batch_alter_table('display', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspicious_at', server.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspicious_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('display', schema=None) as batch_op:
        batch_op.drop_column('suspicious_reason')
        batch_op.drop_column('suspicious_at')
    with op.batch_alter_table('display_sent', schema=None) as batch_op:
        batch_op.drop_index('ix_display_sent_lookup')
    op.drop_table('display_sent')
