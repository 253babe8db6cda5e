"""push: the outbox of display changes and the per-channel message counters (issue 15)

Revision ID: 0014_push_outbox
Revises: 0013_warning_relevance
Create Date: 2026-12-04 02:00:00
"""
from alembic import op
import sqlalchemy as sa

import server.models.types


# revision identifiers, used by Alembic.
revision = '0014_push_outbox'
down_revision = '0013_warning_relevance'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'push_outbox',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('created_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', server.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_outbox')),
    )
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_push_outbox_unsent', ['sent_at', 'id'], unique=False)
    op.create_table(
        'push_channel',
        sa.Column('channel', sa.String(length=80), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('channel', name=op.f('pk_push_channel')),
    )


def downgrade():
    op.drop_table('push_channel')
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_push_outbox_unsent')
    op.drop_table('push_outbox')
