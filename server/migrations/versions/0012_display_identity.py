"""displays: a device identity that survives reboots, retired displays, swap candidates,
the Kommune's crest on the screens (issue 16)

Revision ID: 0012_display_identity
Revises: 0011_clerks_day
Create Date: 2026-12-04 01:30:00

Existing displays have no identity yet: the first re-enrolment of their player with one
adopts it (same hostname, same Kommune), so upgrading a fleet creates no duplicates.
"""
from alembic import op
import sqlalchemy as sa

import server.models.types


# revision identifiers, used by Alembic.
revision = '0012_display_identity'
down_revision = '0011_clerks_day'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'display_crest',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_display_crest_tenant_id_tenant'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_display_crest_updated_by_id_user_account'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_display_crest')),
    )
    with op.batch_alter_table('display', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_key_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('retired_at', server.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('max_pages', sa.Integer(), server_default='3', nullable=False))
        batch_op.create_index(batch_op.f('ix_display_device_key_hash'), ['device_key_hash'], unique=False)
    with op.batch_alter_table('display_pairing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_key_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('candidate_display_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('provisioning_token_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_display_pairing_candidate_display_id'), ['candidate_display_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_display_pairing_candidate_display_id_display'), 'display', ['candidate_display_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_display_pairing_provisioning_token_id_display_provisioning_token'), 'display_provisioning_token', ['provisioning_token_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('display_pairing', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_display_pairing_provisioning_token_id_display_provisioning_token'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_display_pairing_candidate_display_id_display'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_display_pairing_candidate_display_id'))
        batch_op.drop_column('provisioning_token_id')
        batch_op.drop_column('candidate_display_id')
        batch_op.drop_column('device_key_hash')
    op.drop_table('display_crest')
    with op.batch_alter_table('display', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_display_device_key_hash'))
        batch_op.drop_column('max_pages')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('device_key_hash')
    op.drop_table('display_crest')
