"""alerts: optional second-person confirmation per tenant (W10)

Revision ID: 0006_alert_confirmation
Revises: 0005_displays
Create Date: 2026-11-22 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_alert_confirmation'
down_revision = '0005_displays'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'alerts_need_confirmation',
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('alerts_need_confirmation')
