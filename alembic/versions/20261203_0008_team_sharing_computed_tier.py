"""team-shared leads, customers and deals; the computed tier beside an override

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SHARED = ('leads', 'customers', 'deals')
_TIERS = ('strategic', 'growth', 'potential', 'dormant')
_customers = sa.table(
    'customers',
    sa.column('tier', sa.String()),
    sa.column('tier_reason', sa.String()),
    sa.column('tier_override', sa.String()),
    sa.column('computed_tier', sa.String()),
    sa.column('computed_tier_reason', sa.String()),
)


def _restore_name_index() -> None:
    # SQLite's batch mode rebuilds the table from its reflection, which skips expression
    # indexes: put the name-prefix index back as 0001 made it.
    if op.get_bind().dialect.name == 'sqlite':
        op.create_index('ix_customers_name_lower', 'customers', [sa.literal_column('lower(name)')])


def upgrade() -> None:
    for table in _SHARED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    'shared_with_team', sa.Boolean(), server_default=sa.false(), nullable=False
                )
            )
    with op.batch_alter_table('customers') as batch:
        batch.add_column(
            sa.Column(
                'computed_tier',
                sa.Enum(
                    *_TIERS,
                    name='customer_computed_tier',
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch.add_column(sa.Column('computed_tier_reason', sa.String(length=200), nullable=True))
    _restore_name_index()
    # Without an override the acted-on tier is the computed one; with one, the next
    # re-tiering fills it in.
    op.execute(
        _customers.update()
        .where(_customers.c.tier_override.is_(None))
        .values(computed_tier=_customers.c.tier, computed_tier_reason=_customers.c.tier_reason)
    )


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_constraint(op.f('ck_customers_customer_computed_tier'), type_='check')
        batch.drop_column('computed_tier_reason')
        batch.drop_column('computed_tier')
    for table in reversed(_SHARED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('shared_with_team')
    _restore_name_index()
