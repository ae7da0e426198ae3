"""leads and customers: grades, touches, overrides

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_leads = sa.table(
    'leads',
    sa.column('id', sa.Uuid()),
    sa.column('status', sa.String()),
    sa.column('qualified_at', sa.DateTime(timezone=True)),
    sa.column('converted_at', sa.DateTime(timezone=True)),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)
_audit = sa.table(
    'audit_log',
    sa.column('at', sa.DateTime(timezone=True)),
    sa.column('action', sa.String()),
    sa.column('entity_type', sa.String()),
    sa.column('entity_id', sa.Uuid()),
    sa.column('after', sa.JSON()),
)
_customers = sa.table(
    'customers',
    sa.column('grade', sa.String()),
    sa.column('need_intensity', sa.String()),
    sa.column('purchasing_power', sa.String()),
)


def _backfill_qualified_at() -> None:
    # The status moves to `qualified` are in the audit trail; a lead qualified or converted
    # without one on record gets the latest instant it can have been qualified.
    moved = sa.and_(
        _audit.c.entity_type == 'lead',
        _audit.c.action == 'status_changed',
        _audit.c.after['status'].as_string() == 'qualified',
    )
    first = (
        sa.select(sa.func.min(_audit.c.at))
        .where(moved, _audit.c.entity_id == _leads.c.id)
        .scalar_subquery()
    )
    op.execute(
        _leads.update()
        .where(_leads.c.id.in_(sa.select(_audit.c.entity_id).where(moved)))
        .values(qualified_at=first)
    )
    op.execute(
        _leads.update()
        .where(_leads.c.qualified_at.is_(None), _leads.c.status.in_(['qualified', 'converted']))
        .values(qualified_at=sa.func.coalesce(_leads.c.converted_at, _leads.c.updated_at))
    )


def _backfill_grades() -> None:
    need, power = _customers.c.need_intensity, _customers.c.purchasing_power
    op.execute(
        _customers.update()
        .where(need.is_not(None), power.is_not(None))
        .values(
            grade=sa.case(
                (sa.and_(need == 'high', power == 'high'), 'A'),
                (sa.or_(need == 'low', power == 'low'), 'C'),
                else_='B',
            )
        )
    )


def _restore_name_index() -> None:
    # SQLite's batch mode rebuilds the table from its reflection, which skips expression
    # indexes: put the name-prefix index back as 0001 made it.
    if op.get_bind().dialect.name == 'sqlite':
        op.create_index('ix_customers_name_lower', 'customers', [sa.literal_column('lower(name)')])


def upgrade() -> None:
    with op.batch_alter_table('leads') as batch:
        batch.add_column(sa.Column('qualified_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('marked_lost_reason', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('marked_lost_by', sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_customers_marked_lost_by_users'), 'users', ['marked_lost_by'], ['id']
        )
    _restore_name_index()
    _backfill_qualified_at()
    _backfill_grades()


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_constraint(op.f('fk_customers_marked_lost_by_users'), type_='foreignkey')
        batch.drop_column('marked_lost_by')
        batch.drop_column('marked_lost_reason')
    _restore_name_index()
    with op.batch_alter_table('leads') as batch:
        batch.drop_column('qualified_at')
