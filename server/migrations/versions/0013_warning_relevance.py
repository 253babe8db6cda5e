"""alerts: relevance key per target, tenant areas, NINA version order (issue 14)

Revision ID: 0013_warning_relevance
Revises: 0012_display_identity
Create Date: 2026-12-04 01:40:00

"""
from alembic import op
import sqlalchemy as sa
import server.models.types


# revision identifiers, used by Alembic.
revision = '0013_warning_relevance'
down_revision = '0012_display_identity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nina_version', sa.Integer(), nullable=True))
    with op.batch_alter_table('alert_target', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('matched_by', sa.String(length=120), server_default='', nullable=False)
        )
    op.create_table('tenant_area',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('geojson', sa.Text(), nullable=False),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('updated_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_tenant_area_tenant_id_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_tenant_area_updated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenant_area'))
    )


def downgrade():
    op.drop_table('tenant_area')
    with op.batch_alter_table('alert_target', schema=None) as batch_op:
        batch_op.drop_column('matched_by')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('nina_version')
