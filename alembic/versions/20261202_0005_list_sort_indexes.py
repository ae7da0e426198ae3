"""indexes for every list sort order and filter

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Each list's keyset order (`updated_at`, `name`, ... then `id`) and each equality filter
# followed by the default order gets an index that serves both, so a deep page costs what
# the first does. Two single-column indexes become their keyset versions.


def upgrade() -> None:
    op.create_index('ix_activities_kind_occurred_at_id', 'activities', ['kind', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_activities_occurred_at_id', 'activities', ['occurred_at', 'id'], unique=False)
    op.create_index('ix_audit_log_actor_id_at_id', 'audit_log', ['actor_id', 'at', 'id'], unique=False)
    op.create_index('ix_contacts_customer_id_name_id', 'contacts', ['customer_id', 'name', 'id'], unique=False)
    op.create_index('ix_contracts_updated_at_id', 'contracts', ['updated_at', 'id'], unique=False)
    op.create_index('ix_customers_name_id', 'customers', ['name', 'id'], unique=False)
    op.create_index('ix_customers_updated_at_id', 'customers', ['updated_at', 'id'], unique=False)
    op.create_index('ix_deals_stage_changed_at_id', 'deals', ['stage_changed_at', 'id'], unique=False)
    op.create_index('ix_deals_updated_at_id', 'deals', ['updated_at', 'id'], unique=False)
    op.create_index('ix_leads_updated_at_id', 'leads', ['updated_at', 'id'], unique=False)
    op.create_index('ix_quotes_updated_at_id', 'quotes', ['updated_at', 'id'], unique=False)
    op.create_index('ix_tasks_kind_created_at_id', 'tasks', ['kind', 'created_at', 'id'], unique=False)
    op.create_index('ix_tasks_updated_at_id', 'tasks', ['updated_at', 'id'], unique=False)
    op.create_index('ix_tickets_priority_created_at_id', 'tickets', ['priority', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_queue_created_at_id', 'tickets', ['queue', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_type_created_at_id', 'tickets', ['type', 'created_at', 'id'], unique=False)
    op.create_index('ix_users_name_id', 'users', ['name', 'id'], unique=False)
    op.drop_index('ix_activities_occurred_at', table_name='activities')
    op.drop_index('ix_deals_stage_changed_at', table_name='deals')


def downgrade() -> None:
    op.create_index('ix_activities_occurred_at', 'activities', ['occurred_at'], unique=False)
    op.create_index('ix_deals_stage_changed_at', 'deals', ['stage_changed_at'], unique=False)
    op.drop_index('ix_users_name_id', table_name='users')
    op.drop_index('ix_tickets_type_created_at_id', table_name='tickets')
    op.drop_index('ix_tickets_queue_created_at_id', table_name='tickets')
    op.drop_index('ix_tickets_priority_created_at_id', table_name='tickets')
    op.drop_index('ix_tasks_updated_at_id', table_name='tasks')
    op.drop_index('ix_tasks_kind_created_at_id', table_name='tasks')
    op.drop_index('ix_quotes_updated_at_id', table_name='quotes')
    op.drop_index('ix_leads_updated_at_id', table_name='leads')
    op.drop_index('ix_deals_updated_at_id', table_name='deals')
    op.drop_index('ix_deals_stage_changed_at_id', table_name='deals')
    op.drop_index('ix_customers_updated_at_id', table_name='customers')
    op.drop_index('ix_customers_name_id', table_name='customers')
    op.drop_index('ix_contracts_updated_at_id', table_name='contracts')
    op.drop_index('ix_contacts_customer_id_name_id', table_name='contacts')
    op.drop_index('ix_audit_log_actor_id_at_id', table_name='audit_log')
    op.drop_index('ix_activities_occurred_at_id', table_name='activities')
    op.drop_index('ix_activities_kind_occurred_at_id', table_name='activities')
