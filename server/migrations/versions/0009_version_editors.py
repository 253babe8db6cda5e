"""notices: every editor of a version, for four eyes by content (issue 11)

Revision ID: 0009_version_editors
Revises: 0008_sessions_and_limits
Create Date: 2026-12-03 16:00:00

Existing versions get their creator and submitter, and everyone the audit log shows
editing their text or attachments, so the rule holds for drafts already under way.
"""
from alembic import op
import sqlalchemy as sa

import server.models.types


# revision identifiers, used by Alembic.
revision = '0009_version_editors'
down_revision = '0008_sessions_and_limits'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notice_version_editor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('first_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notice_version_editor_user_id_user_account')),
        sa.ForeignKeyConstraint(['version_id'], ['notice_version.id'], name=op.f('fk_notice_version_editor_version_id_notice_version'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_version_editor')),
        sa.UniqueConstraint('version_id', 'user_id', 'kind', name=op.f('uq_notice_version_editor_version_id')),
    )
    with op.batch_alter_table('notice_version_editor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_version_editor_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_version_editor_version_id'), ['version_id'], unique=False)

    # Backfill, copying the stored timestamps as they are (same column type).
    op.execute(
        "INSERT INTO notice_version_editor (version_id, user_id, kind, first_at, last_at) "
        "SELECT id, created_by_id, 'created', created_at, created_at FROM notice_version "
        "WHERE created_by_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO notice_version_editor (version_id, user_id, kind, first_at, last_at) "
        "SELECT id, submitted_by_id, 'submitted', COALESCE(submitted_at, created_at), "
        "COALESCE(submitted_at, created_at) FROM notice_version "
        "WHERE submitted_by_id IS NOT NULL"
    )
    # Compared as text: audit object ids are strings and not all of them are numbers.
    op.execute(
        "INSERT INTO notice_version_editor (version_id, user_id, kind, first_at, last_at) "
        "SELECT nv.id, a.actor_id, 'edited', MIN(a.at), MAX(a.at) "
        "FROM audit_entry a JOIN notice_version nv ON a.object_id = CAST(nv.id AS VARCHAR(100)) "
        "WHERE a.object_type = 'notice_version' AND a.actor_id IS NOT NULL "
        "AND a.action IN ('notice.update', 'notice.attachment_add', 'notice.attachment_remove') "
        "GROUP BY nv.id, a.actor_id"
    )


def downgrade():
    with op.batch_alter_table('notice_version_editor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_version_editor_version_id'))
        batch_op.drop_index(batch_op.f('ix_notice_version_editor_user_id'))
    op.drop_table('notice_version_editor')
