"""sessions and limits: server-side login sessions, shared rate-limit log

Revision ID: 0008_sessions_and_limits
Revises: 0007_display_evidence
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa

from server.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0008_sessions_and_limits'
down_revision = '0007_display_evidence'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)
    op.create_table(
        'limit_event',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('scope', sa.String(length=30), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('limit_event', schema=None) as batch_op:
        batch_op.create_index('ix_limit_event_scope_key_at', ['scope', 'key', 'at'], unique=False)
        batch_op.create_index('ix_limit_event_scope_at', ['scope', 'at'], unique=False)
    # Cookies issued before this revision carry no session token; ending them here
    # (instead of accepting them without one) keeps the rule "no row, no session".
    op.execute(sa.text('UPDATE user_account SET session_epoch = session_epoch + 1'))


def downgrade():
    with op.batch_alter_table('limit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_limit_event_scope_at')
        batch_op.drop_index('ix_limit_event_scope_key_at')
    op.drop_table('limit_event')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
    op.drop_table('login_session')
