"""tickets: next sweep instant and at-risk instant

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_at_risk_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_next_action_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_tickets_sla_next_action_at_id',
        'tickets',
        ['sla_next_action_at', 'id'],
        unique=False,
        postgresql_where=sa.text('sla_next_action_at IS NOT NULL'),
        sqlite_where=sa.text('sla_next_action_at IS NOT NULL'),
    )
    # Every ticket with a running clock is claimed by the first sweep after the upgrade
    # (reported_at is in the past), which replays its log once and stores the exact
    # instants; tickets with no running clock have nothing pending.
    op.execute(
        "UPDATE tickets SET sla_next_action_at = reported_at WHERE next_due_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index('ix_tickets_sla_next_action_at_id', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('sla_next_action_at')
        batch_op.drop_column('sla_at_risk_at')
