"""campaigns and report indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANNELS = (
    'trade_show', 'industry_platform', 'social_media', 'seo_content', 'search_ads',
    'website_form', 'referral', 'partner', 'telemarketing', 'email_campaign', 'direct_mail',
    'event', 'other',
)


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.Enum(*_CHANNELS, name='campaign_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('cost', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.CheckConstraint('cost IS NULL OR cost >= 0', name=op.f('ck_campaigns_cost_not_negative')),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_campaigns_period_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_index('ix_campaigns_created_at_id', 'campaigns', ['created_at', 'id'], unique=False)
    op.create_index('ix_campaigns_starts_on_id', 'campaigns', ['starts_on', 'id'], unique=False)
    # What the reports range over: closing time, reported time, activity time.
    op.create_index('ix_deals_stage_closed_at', 'deals', ['stage', 'closed_at'], unique=False)
    op.create_index('ix_tickets_reported_at', 'tickets', ['reported_at'], unique=False)
    op.create_index('ix_activities_occurred_at', 'activities', ['occurred_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_activities_occurred_at', table_name='activities')
    op.drop_index('ix_tickets_reported_at', table_name='tickets')
    op.drop_index('ix_deals_stage_closed_at', table_name='deals')
    op.drop_index('ix_campaigns_starts_on_id', table_name='campaigns')
    op.drop_index('ix_campaigns_created_at_id', table_name='campaigns')
    op.drop_table('campaigns')
