"""login attempts counted atomically per account and per client; secrets the database generates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The failures of the last window only: counting starts afresh, nothing worth carrying over.
    op.drop_index('ix_login_failures_email_failed_at', table_name='login_failures')
    op.drop_table('login_failures')
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )
    op.create_index(
        'ix_login_throttles_window_started_at', 'login_throttles', ['window_started_at']
    )
    op.create_table(
        'instance_secrets',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_secrets')),
    )


def downgrade() -> None:
    op.drop_table('instance_secrets')
    op.drop_index('ix_login_throttles_window_started_at', table_name='login_throttles')
    op.drop_table('login_throttles')
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')),
    )
    op.create_index(
        'ix_login_failures_email_failed_at', 'login_failures', ['email', 'failed_at']
    )
