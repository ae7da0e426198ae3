"""deal stage stays: each deal's first arrival and time in every stage it reached

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deal_stage_stays',
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('stage', sa.Enum('development', 'initiation', 'proposal', 'bidding', 'negotiation', 'implementation', 'won', 'lost', name='deal_stay_stage', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('first_arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds_in_stage', sa.Float(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.CheckConstraint('seconds_in_stage >= 0', name=op.f('ck_deal_stage_stays_seconds_not_negative')),
    sa.CheckConstraint('visits >= 1', name=op.f('ck_deal_stage_stays_visits_positive')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_stage_stays_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_deal_stage_stays_owner_id_users')),
    sa.PrimaryKeyConstraint('deal_id', 'stage', name=op.f('pk_deal_stage_stays'))
    )
    op.create_index('ix_deal_stage_stays_first_arrived_at', 'deal_stage_stays', ['first_arrived_at'], unique=False)
    op.create_index('ix_deal_stage_stays_owner_id_first_arrived_at', 'deal_stage_stays', ['owner_id', 'first_arrived_at'], unique=False, postgresql_include=['stage', 'arrived_at', 'seconds_in_stage'])
    op.create_index('ix_deals_owner_id_closed_at', 'deals', ['owner_id', 'closed_at'], unique=False)
    # Derive the rows of the deals that already have a history.
    from app.deals.stays import rebuild

    op.execute(rebuild(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_index('ix_deals_owner_id_closed_at', table_name='deals')
    op.drop_index('ix_deal_stage_stays_owner_id_first_arrived_at', table_name='deal_stage_stays')
    op.drop_index('ix_deal_stage_stays_first_arrived_at', table_name='deal_stage_stays')
    op.drop_table('deal_stage_stays')
