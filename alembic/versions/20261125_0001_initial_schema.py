"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 09:17:58.728482
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_at_id', 'audit_log', ['at', 'id'], unique=False)
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity_type', 'entity_id', 'at'], unique=False)
    op.create_table('idempotency_keys',
    sa.Column('principal', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('principal', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_index('ix_idempotency_keys_created_at', 'idempotency_keys', ['created_at'], unique=False)
    op.create_table('login_failures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    op.create_index('ix_login_failures_email_failed_at', 'login_failures', ['email', 'failed_at'], unique=False)
    op.create_table('users',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('rep', 'manager', 'director', 'support_agent', 'admin', name='user_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('seniority', sa.Enum('senior', 'standard', name='user_seniority', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_index('ix_users_created_at_id', 'users', ['created_at', 'id'], unique=False)
    op.create_index(op.f('ix_users_role'), 'users', ['role'], unique=False)
    op.create_index(op.f('ix_users_team_id'), 'users', ['team_id'], unique=False)
    op.create_table('api_keys',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_api_keys_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_index('ix_api_keys_created_at_id', 'api_keys', ['created_at', 'id'], unique=False)
    op.create_index(op.f('ix_api_keys_prefix'), 'api_keys', ['prefix'], unique=False)
    op.create_table('customers',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('company_size', sa.String(length=50), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.Column('annual_revenue', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('tier', sa.Enum('strategic', 'growth', 'potential', 'dormant', name='customer_tier', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('tier_reason', sa.String(length=200), nullable=True),
    sa.Column('tier_computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tier_override', sa.Enum('strategic', 'growth', 'potential', 'dormant', name='customer_tier_override', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('tier_override_reason', sa.String(length=500), nullable=True),
    sa.Column('tier_override_by', sa.Uuid(), nullable=True),
    sa.Column('tier_override_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('grade', sa.Enum('A', 'B', 'C', name='customer_grade', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('need_intensity', sa.String(length=10), nullable=True),
    sa.Column('purchasing_power', sa.String(length=10), nullable=True),
    sa.Column('lifecycle_stage', sa.Enum('prospect', 'growth', 'mature', 'decline', 'churned', name='customer_lifecycle_stage', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('marked_lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_purchase_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_customers_owner_id_users')),
    sa.ForeignKeyConstraint(['tier_override_by'], ['users.id'], name=op.f('fk_customers_tier_override_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_index('ix_customers_created_at_id', 'customers', ['created_at', 'id'], unique=False)
    op.create_index(op.f('ix_customers_grade'), 'customers', ['grade'], unique=False)
    op.create_index('ix_customers_last_contact_at', 'customers', ['last_contact_at'], unique=False)
    op.create_index('ix_customers_last_purchase_at', 'customers', ['last_purchase_at'], unique=False)
    op.create_index(op.f('ix_customers_lifecycle_stage'), 'customers', ['lifecycle_stage'], unique=False)
    # text_pattern_ops lets LIKE 'prefix%' use the index whatever the database collation.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_customers_name_lower ON customers (lower(name) text_pattern_ops)')
    else:
        op.create_index('ix_customers_name_lower', 'customers', [sa.literal_column('lower(name)')])
    op.create_index('ix_customers_owner_id_created_at_id', 'customers', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_customers_tier_created_at_id', 'customers', ['tier', 'created_at', 'id'], unique=False)
    op.create_table('tasks',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('trade_show_follow_up', 'nurture_touch', 'satisfaction_survey', 'first_visit', 'complaint_follow_up', 'renewal', 'dormant_reactivation', 'sla_escalation', 'sla_at_risk', 'delivery_notice', 'general', name='task_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.String(length=4000), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('open', 'done', 'cancelled', name='task_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('related_type', sa.String(length=32), nullable=True),
    sa.Column('related_id', sa.Uuid(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tasks_assignee_id_users')),
    sa.ForeignKeyConstraint(['completed_by'], ['users.id'], name=op.f('fk_tasks_completed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    op.create_index('ix_tasks_assignee_id_status_due_at_id', 'tasks', ['assignee_id', 'status', 'due_at', 'id'], unique=False)
    op.create_index('ix_tasks_created_at_id', 'tasks', ['created_at', 'id'], unique=False)
    op.create_index('ix_tasks_related', 'tasks', ['related_type', 'related_id'], unique=False)
    op.create_index('ix_tasks_status_due_at_id', 'tasks', ['status', 'due_at', 'id'], unique=False)
    op.create_index('uq_tasks_dedupe_key', 'tasks', ['dedupe_key'], unique=True)
    op.create_table('teams',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('manager_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_teams_manager_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_index(op.f('ix_teams_manager_id'), 'teams', ['manager_id'], unique=False)
    op.create_table('contacts',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('email_normalized', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('phone_normalized', sa.String(length=50), nullable=True),
    sa.Column('decision_role', sa.Enum('decision_maker', 'influencer', 'user', 'gatekeeper', 'coach', name='contact_decision_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('covering_rep_id', sa.Uuid(), nullable=True),
    sa.Column('preferences', sa.String(length=2000), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['covering_rep_id'], ['users.id'], name=op.f('fk_contacts_covering_rep_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contacts_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    op.create_index('ix_contacts_covering_rep_id', 'contacts', ['covering_rep_id'], unique=False)
    op.create_index('ix_contacts_customer_id_created_at_id', 'contacts', ['customer_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_contacts_email_normalized', 'contacts', ['email_normalized'], unique=False)
    op.create_index('ix_contacts_phone_normalized', 'contacts', ['phone_normalized'], unique=False)
    op.create_table('leads',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('new', 'contacted', 'qualified', 'nurturing', 'archived', 'disqualified', 'converted', name='lead_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sa.Enum('trade_show', 'industry_platform', 'social_media', 'seo_content', 'search_ads', 'website_form', 'referral', 'partner', 'telemarketing', 'email_campaign', 'direct_mail', 'event', 'other', name='lead_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source_detail', sa.String(length=500), nullable=True),
    sa.Column('campaign', sa.String(length=120), nullable=True),
    sa.Column('referrer_customer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_title', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('email_normalized', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('phone_normalized', sa.String(length=50), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('budget_confirmed', sa.Boolean(), nullable=False),
    sa.Column('budget_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('authority_confirmed', sa.Boolean(), nullable=False),
    sa.Column('need_confirmed', sa.Boolean(), nullable=False),
    sa.Column('need_description', sa.String(length=4000), nullable=True),
    sa.Column('expected_purchase_date', sa.Date(), nullable=True),
    sa.Column('decision_maker_count', sa.Integer(), nullable=True),
    sa.Column('qualification_evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('grade', sa.Enum('A', 'B', 'C', name='lead_grade', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('next_touch_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disqualified_reason', sa.String(length=500), nullable=True),
    sa.Column('duplicate_of', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('converted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('converted_customer_id', sa.Uuid(), nullable=True),
    sa.Column('converted_contact_id', sa.Uuid(), nullable=True),
    sa.Column('converted_deal_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['converted_contact_id'], ['contacts.id'], name=op.f('fk_leads_converted_contact_id_contacts')),
    sa.ForeignKeyConstraint(['converted_customer_id'], ['customers.id'], name=op.f('fk_leads_converted_customer_id_customers')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_leads_owner_id_users')),
    sa.ForeignKeyConstraint(['referrer_customer_id'], ['customers.id'], name=op.f('fk_leads_referrer_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads'))
    )
    op.create_index('ix_leads_campaign', 'leads', ['campaign'], unique=False)
    op.create_index('ix_leads_created_at_id', 'leads', ['created_at', 'id'], unique=False)
    op.create_index('ix_leads_email_normalized', 'leads', ['email_normalized'], unique=False)
    op.create_index(op.f('ix_leads_grade'), 'leads', ['grade'], unique=False)
    op.create_index('ix_leads_next_touch_at', 'leads', ['next_touch_at'], unique=False)
    op.create_index('ix_leads_owner_id_created_at_id', 'leads', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_leads_phone_normalized', 'leads', ['phone_normalized'], unique=False)
    op.create_index(op.f('ix_leads_referrer_customer_id'), 'leads', ['referrer_customer_id'], unique=False)
    op.create_index('ix_leads_source_created_at', 'leads', ['source', 'created_at'], unique=False)
    op.create_index('ix_leads_status_created_at_id', 'leads', ['status', 'created_at', 'id'], unique=False)
    op.create_table('deals',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('stage', sa.Enum('development', 'initiation', 'proposal', 'bidding', 'negotiation', 'implementation', 'won', 'lost', name='deal_stage', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('need_description', sa.String(length=4000), nullable=True),
    sa.Column('product', sa.String(length=200), nullable=True),
    sa.Column('presales_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('presales_approved_by', sa.Uuid(), nullable=True),
    sa.Column('bid_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bid_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('lost_reason', sa.Enum('price', 'competitor', 'no_budget', 'no_decision', 'timing', 'other', name='deal_lost_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('lost_reason_text', sa.String(length=2000), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_from_stage', sa.Enum('development', 'initiation', 'proposal', 'bidding', 'negotiation', 'implementation', 'won', 'lost', name='deal_closed_from_stage', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('stage_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount IS NULL OR amount >= 0', name=op.f('ck_deals_amount_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_deals_customer_id_customers')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_deals_lead_id_leads')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_deals_owner_id_users')),
    sa.ForeignKeyConstraint(['presales_approved_by'], ['users.id'], name=op.f('fk_deals_presales_approved_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals'))
    )
    op.create_index('ix_deals_created_at_id', 'deals', ['created_at', 'id'], unique=False)
    op.create_index('ix_deals_customer_id_created_at_id', 'deals', ['customer_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_expected_close_date', 'deals', ['expected_close_date'], unique=False)
    op.create_index(op.f('ix_deals_lead_id'), 'deals', ['lead_id'], unique=False)
    op.create_index('ix_deals_owner_id_created_at_id', 'deals', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_deals_stage_changed_at', 'deals', ['stage_changed_at'], unique=False)
    op.create_index('ix_deals_stage_created_at_id', 'deals', ['stage', 'created_at', 'id'], unique=False)
    op.create_table('activities',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('call', 'email', 'meeting', 'visit', 'demo', 'note', name='activity_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('deal_id', sa.Uuid(), nullable=True),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('summary', sa.String(length=4000), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_activities_contact_id_contacts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_activities_customer_id_customers')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_activities_deal_id_deals')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_activities_lead_id_leads')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_activities_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    op.create_index('ix_activities_contact_id', 'activities', ['contact_id'], unique=False)
    op.create_index('ix_activities_created_at_id', 'activities', ['created_at', 'id'], unique=False)
    op.create_index('ix_activities_customer_id_occurred_at_id', 'activities', ['customer_id', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_activities_deal_id_occurred_at', 'activities', ['deal_id', 'occurred_at'], unique=False)
    op.create_index('ix_activities_lead_id_occurred_at', 'activities', ['lead_id', 'occurred_at'], unique=False)
    op.create_index('ix_activities_owner_id_occurred_at_id', 'activities', ['owner_id', 'occurred_at', 'id'], unique=False)
    op.create_table('deal_stage_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('from_stage', sa.Enum('development', 'initiation', 'proposal', 'bidding', 'negotiation', 'implementation', 'won', 'lost', name='deal_history_from_stage', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('to_stage', sa.Enum('development', 'initiation', 'proposal', 'bidding', 'negotiation', 'implementation', 'won', 'lost', name='deal_history_to_stage', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.String(length=2000), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by'], ['users.id'], name=op.f('fk_deal_stage_history_changed_by_users')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_stage_history_deal_id_deals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_stage_history'))
    )
    op.create_index('ix_deal_stage_history_deal_id_changed_at', 'deal_stage_history', ['deal_id', 'changed_at'], unique=False)
    op.create_index('ix_deal_stage_history_to_stage_changed_at', 'deal_stage_history', ['to_stage', 'changed_at'], unique=False)
    op.create_table('quotes',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('draft', 'pending_approval', 'approved', 'sent', 'accepted', 'rejected', 'expired', 'superseded', name='quote_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('current_version_no', sa.Integer(), nullable=False),
    sa.Column('copied_from_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['copied_from_id'], ['quotes.id'], name=op.f('fk_quotes_copied_from_id_quotes')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_quotes_customer_id_customers')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_quotes_deal_id_deals')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_quotes_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes'))
    )
    op.create_index('ix_quotes_created_at_id', 'quotes', ['created_at', 'id'], unique=False)
    op.create_index(op.f('ix_quotes_customer_id'), 'quotes', ['customer_id'], unique=False)
    op.create_index('ix_quotes_deal_id_created_at_id', 'quotes', ['deal_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_quotes_owner_id_created_at_id', 'quotes', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_quotes_status_created_at_id', 'quotes', ['status', 'created_at', 'id'], unique=False)
    op.create_table('quote_versions',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('quote_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'pending_approval', 'approved', 'sent', 'accepted', 'rejected', 'expired', 'superseded', name='quote_version_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('terms', sa.String(length=8000), nullable=True),
    sa.Column('header_discount_pct', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('policy_discount_pct', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('policy_discount_reason', sa.String(length=200), nullable=True),
    sa.Column('list_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('effective_discount_pct', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sa.Uuid(), nullable=True),
    sa.Column('required_approver_role', sa.String(length=32), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('approved_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_by', sa.Uuid(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=2000), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_quote_versions_approved_by_users')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_versions_quote_id_quotes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rejected_by'], ['users.id'], name=op.f('fk_quote_versions_rejected_by_users')),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_quote_versions_submitted_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_versions')),
    sa.UniqueConstraint('quote_id', 'number', name='uq_quote_versions_quote_id_number')
    )
    op.create_index('ix_quote_versions_status_submitted_at', 'quote_versions', ['status', 'submitted_at'], unique=False)
    op.create_table('contracts',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('quote_id', sa.Uuid(), nullable=False),
    sa.Column('quote_version_id', sa.Uuid(), nullable=False),
    sa.Column('deal_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'in_review', 'approved', 'signed', 'in_delivery', 'delivered', 'accepted', 'closed', 'terminated', name='contract_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('planned_delivery_date', sa.Date(), nullable=True),
    sa.Column('submitted_for_review_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acceptance_kind', sa.Enum('explicit', 'deemed', name='contract_acceptance_kind', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('terminated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('termination_reason', sa.String(length=2000), nullable=True),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_contracts_amount_not_negative')),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_contracts_approved_by_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contracts_customer_id_customers')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_contracts_deal_id_deals')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_contracts_owner_id_users')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_contracts_quote_id_quotes')),
    sa.ForeignKeyConstraint(['quote_version_id'], ['quote_versions.id'], name=op.f('fk_contracts_quote_version_id_quote_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('quote_version_id', name='uq_contracts_quote_version_id')
    )
    op.create_index('ix_contracts_created_at_id', 'contracts', ['created_at', 'id'], unique=False)
    op.create_index('ix_contracts_customer_id_created_at_id', 'contracts', ['customer_id', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_contracts_deal_id'), 'contracts', ['deal_id'], unique=False)
    op.create_index('ix_contracts_end_date', 'contracts', ['end_date'], unique=False)
    op.create_index('ix_contracts_owner_id_created_at_id', 'contracts', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_contracts_status_created_at_id', 'contracts', ['status', 'created_at', 'id'], unique=False)
    op.create_table('quote_line_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('quote_version_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=14, scale=3), nullable=False),
    sa.Column('unit_list_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('line_discount_pct', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('line_list_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('line_net_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint('line_discount_pct >= 0 AND line_discount_pct <= 100', name=op.f('ck_quote_line_items_line_discount_in_range')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_quote_line_items_quantity_positive')),
    sa.CheckConstraint('unit_list_price >= 0', name=op.f('ck_quote_line_items_unit_list_price_not_negative')),
    sa.ForeignKeyConstraint(['quote_version_id'], ['quote_versions.id'], name=op.f('fk_quote_line_items_quote_version_id_quote_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_line_items')),
    sa.UniqueConstraint('quote_version_id', 'position', name='uq_quote_line_items_version_position')
    )
    op.create_index(op.f('ix_quote_line_items_quote_version_id'), 'quote_line_items', ['quote_version_id'], unique=False)
    op.create_table('contract_change_requests',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('description', sa.String(length=4000), nullable=False),
    sa.Column('extra_fee', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='change_request_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('extra_fee >= 0', name=op.f('ck_contract_change_requests_extra_fee_not_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_change_requests_contract_id_contracts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_contract_change_requests_decided_by_users')),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_contract_change_requests_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_change_requests'))
    )
    op.create_index(op.f('ix_contract_change_requests_contract_id'), 'contract_change_requests', ['contract_id'], unique=False)
    op.create_table('deliveries',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'shipped', 'arrived', 'installed', name='delivery_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('planned_date', sa.Date(), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acceptance_kind', sa.Enum('explicit', 'deemed', name='delivery_acceptance_kind', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_deliveries_contract_id_contracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    op.create_index(op.f('ix_deliveries_contract_id'), 'deliveries', ['contract_id'], unique=False)
    op.create_index('ix_deliveries_status_arrived_at', 'deliveries', ['status', 'arrived_at'], unique=False)
    op.create_table('payment_milestones',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('advance', 'on_delivery', 'on_acceptance', 'custom', name='milestone_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('percent', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('anchor', sa.Enum('signing', 'delivery', 'acceptance', name='milestone_anchor', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('days_after', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.CheckConstraint('days_after >= 0', name=op.f('ck_payment_milestones_days_after_not_negative')),
    sa.CheckConstraint('percent > 0 AND percent <= 100', name=op.f('ck_payment_milestones_percent_in_range')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_payment_milestones_contract_id_contracts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_milestones')),
    sa.UniqueConstraint('contract_id', 'position', name='uq_payment_milestones_contract_position')
    )
    op.create_index(op.f('ix_payment_milestones_contract_id'), 'payment_milestones', ['contract_id'], unique=False)
    op.create_index('ix_payment_milestones_due_date_unpaid', 'payment_milestones', ['due_date', 'paid_at'], unique=False)
    op.create_table('tickets',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('description', sa.String(length=20000), nullable=True),
    sa.Column('type', sa.Enum('hardware_fault', 'usage_question', 'software_bug', 'complaint', 'inspection', 'feedback', name='ticket_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='ticket_priority', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('new', 'open', 'pending_customer', 'resolved', 'reopened', 'closed', name='ticket_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('category', sa.Enum('product', 'service', 'process', name='ticket_feedback_category', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('queue', sa.String(length=50), nullable=True),
    sa.Column('channel', sa.String(length=50), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_status', sa.Enum('on_track', 'at_risk', 'breached', 'met', name='ticket_sla_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_tickets_contact_id_contacts')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_tickets_contract_id_contracts')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    op.create_index('ix_tickets_assignee_id_created_at_id', 'tickets', ['assignee_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_assignee_id_next_due_at_id', 'tickets', ['assignee_id', 'next_due_at', 'id'], unique=False)
    op.create_index(op.f('ix_tickets_contract_id'), 'tickets', ['contract_id'], unique=False)
    op.create_index('ix_tickets_created_at_id', 'tickets', ['created_at', 'id'], unique=False)
    op.create_index('ix_tickets_customer_id_created_at_id', 'tickets', ['customer_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tickets_next_due_at_id', 'tickets', ['next_due_at', 'id'], unique=False)
    op.create_index('ix_tickets_status_created_at_id', 'tickets', ['status', 'created_at', 'id'], unique=False)
    op.create_table('ticket_sla_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('started', 'first_response', 'paused', 'resumed', 'retargeted', 'breached', 'met', 'reopened', 'at_risk', 'resolved', name='sla_event_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('clock', sa.Enum('first_response', 'resolution', name='sla_clock_kind', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('policy_version', sa.String(length=64), nullable=False),
    sa.Column('calendar_version', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ticket_sla_events_actor_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_sla_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_sla_events')),
    sa.UniqueConstraint('ticket_id', 'seq', name='uq_ticket_sla_events_ticket_id_seq')
    )

    # The two foreign keys that close a reference cycle are added once both tables exist.
    with op.batch_alter_table('users') as batch:
        batch.create_foreign_key('fk_users_team_id_teams', 'teams', ['team_id'], ['id'])
    with op.batch_alter_table('leads') as batch:
        batch.create_foreign_key(
            'fk_leads_converted_deal_id_deals', 'deals', ['converted_deal_id'], ['id']
        )

def downgrade() -> None:
    with op.batch_alter_table('leads') as batch:
        batch.drop_constraint('fk_leads_converted_deal_id_deals', type_='foreignkey')
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('fk_users_team_id_teams', type_='foreignkey')
    op.drop_table('ticket_sla_events')
    op.drop_index('ix_tickets_status_created_at_id', table_name='tickets')
    op.drop_index('ix_tickets_next_due_at_id', table_name='tickets')
    op.drop_index('ix_tickets_customer_id_created_at_id', table_name='tickets')
    op.drop_index('ix_tickets_created_at_id', table_name='tickets')
    op.drop_index(op.f('ix_tickets_contract_id'), table_name='tickets')
    op.drop_index('ix_tickets_assignee_id_next_due_at_id', table_name='tickets')
    op.drop_index('ix_tickets_assignee_id_created_at_id', table_name='tickets')
    op.drop_table('tickets')
    op.drop_index('ix_payment_milestones_due_date_unpaid', table_name='payment_milestones')
    op.drop_index(op.f('ix_payment_milestones_contract_id'), table_name='payment_milestones')
    op.drop_table('payment_milestones')
    op.drop_index('ix_deliveries_status_arrived_at', table_name='deliveries')
    op.drop_index(op.f('ix_deliveries_contract_id'), table_name='deliveries')
    op.drop_table('deliveries')
    op.drop_index(op.f('ix_contract_change_requests_contract_id'), table_name='contract_change_requests')
    op.drop_table('contract_change_requests')
    op.drop_index(op.f('ix_quote_line_items_quote_version_id'), table_name='quote_line_items')
    op.drop_table('quote_line_items')
    op.drop_index('ix_contracts_status_created_at_id', table_name='contracts')
    op.drop_index('ix_contracts_owner_id_created_at_id', table_name='contracts')
    op.drop_index('ix_contracts_end_date', table_name='contracts')
    op.drop_index(op.f('ix_contracts_deal_id'), table_name='contracts')
    op.drop_index('ix_contracts_customer_id_created_at_id', table_name='contracts')
    op.drop_index('ix_contracts_created_at_id', table_name='contracts')
    op.drop_table('contracts')
    op.drop_index('ix_quote_versions_status_submitted_at', table_name='quote_versions')
    op.drop_table('quote_versions')
    op.drop_index('ix_quotes_status_created_at_id', table_name='quotes')
    op.drop_index('ix_quotes_owner_id_created_at_id', table_name='quotes')
    op.drop_index('ix_quotes_deal_id_created_at_id', table_name='quotes')
    op.drop_index(op.f('ix_quotes_customer_id'), table_name='quotes')
    op.drop_index('ix_quotes_created_at_id', table_name='quotes')
    op.drop_table('quotes')
    op.drop_index('ix_deal_stage_history_to_stage_changed_at', table_name='deal_stage_history')
    op.drop_index('ix_deal_stage_history_deal_id_changed_at', table_name='deal_stage_history')
    op.drop_table('deal_stage_history')
    op.drop_index('ix_activities_owner_id_occurred_at_id', table_name='activities')
    op.drop_index('ix_activities_lead_id_occurred_at', table_name='activities')
    op.drop_index('ix_activities_deal_id_occurred_at', table_name='activities')
    op.drop_index('ix_activities_customer_id_occurred_at_id', table_name='activities')
    op.drop_index('ix_activities_created_at_id', table_name='activities')
    op.drop_index('ix_activities_contact_id', table_name='activities')
    op.drop_table('activities')
    op.drop_index('ix_deals_stage_created_at_id', table_name='deals')
    op.drop_index('ix_deals_stage_changed_at', table_name='deals')
    op.drop_index('ix_deals_owner_id_created_at_id', table_name='deals')
    op.drop_index(op.f('ix_deals_lead_id'), table_name='deals')
    op.drop_index('ix_deals_expected_close_date', table_name='deals')
    op.drop_index('ix_deals_customer_id_created_at_id', table_name='deals')
    op.drop_index('ix_deals_created_at_id', table_name='deals')
    op.drop_table('deals')
    op.drop_index('ix_leads_status_created_at_id', table_name='leads')
    op.drop_index('ix_leads_source_created_at', table_name='leads')
    op.drop_index(op.f('ix_leads_referrer_customer_id'), table_name='leads')
    op.drop_index('ix_leads_phone_normalized', table_name='leads')
    op.drop_index('ix_leads_owner_id_created_at_id', table_name='leads')
    op.drop_index('ix_leads_next_touch_at', table_name='leads')
    op.drop_index(op.f('ix_leads_grade'), table_name='leads')
    op.drop_index('ix_leads_email_normalized', table_name='leads')
    op.drop_index('ix_leads_created_at_id', table_name='leads')
    op.drop_index('ix_leads_campaign', table_name='leads')
    op.drop_table('leads')
    op.drop_index('ix_contacts_phone_normalized', table_name='contacts')
    op.drop_index('ix_contacts_email_normalized', table_name='contacts')
    op.drop_index('ix_contacts_customer_id_created_at_id', table_name='contacts')
    op.drop_index('ix_contacts_covering_rep_id', table_name='contacts')
    op.drop_table('contacts')
    op.drop_index(op.f('ix_teams_manager_id'), table_name='teams')
    op.drop_table('teams')
    op.drop_index('uq_tasks_dedupe_key', table_name='tasks')
    op.drop_index('ix_tasks_status_due_at_id', table_name='tasks')
    op.drop_index('ix_tasks_related', table_name='tasks')
    op.drop_index('ix_tasks_created_at_id', table_name='tasks')
    op.drop_index('ix_tasks_assignee_id_status_due_at_id', table_name='tasks')
    op.drop_table('tasks')
    op.drop_index('ix_customers_tier_created_at_id', table_name='customers')
    op.drop_index('ix_customers_owner_id_created_at_id', table_name='customers')
    op.drop_index('ix_customers_name_lower', table_name='customers')
    op.drop_index(op.f('ix_customers_lifecycle_stage'), table_name='customers')
    op.drop_index('ix_customers_last_purchase_at', table_name='customers')
    op.drop_index('ix_customers_last_contact_at', table_name='customers')
    op.drop_index(op.f('ix_customers_grade'), table_name='customers')
    op.drop_index('ix_customers_created_at_id', table_name='customers')
    op.drop_table('customers')
    op.drop_index(op.f('ix_api_keys_prefix'), table_name='api_keys')
    op.drop_index('ix_api_keys_created_at_id', table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index(op.f('ix_users_team_id'), table_name='users')
    op.drop_index(op.f('ix_users_role'), table_name='users')
    op.drop_index('ix_users_created_at_id', table_name='users')
    op.drop_table('users')
    op.drop_index('ix_login_failures_email_failed_at', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_idempotency_keys_created_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_index('ix_audit_log_entity', table_name='audit_log')
    op.drop_index('ix_audit_log_at_id', table_name='audit_log')
    op.drop_table('audit_log')
