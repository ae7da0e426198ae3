"""events: the transactional outbox behind the change feed and webhooks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column(
            'seq',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column('txid', sa.BigInteger(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('record_type', sa.String(length=32), nullable=False),
        sa.Column('record_id', sa.Uuid(), nullable=False),
        sa.Column('record_version', sa.Integer(), nullable=True),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_type', sa.String(length=16), nullable=False),
        sa.Column('actor_id', sa.Uuid(), nullable=True),
        sa.Column('actor_name', sa.String(length=200), nullable=True),
        sa.Column('origin', sa.String(length=120), nullable=True),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.Column('changed_fields', _json(), nullable=False),
        sa.Column('data', _json(), nullable=False),
        sa.Column('previous', _json(), nullable=True),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_events')),
        sa.UniqueConstraint('id', name=op.f('uq_events_id')),
    )
    op.create_index('ix_events_txid_seq', 'events', ['txid', 'seq'], unique=True)
    op.create_index('ix_events_record', 'events', ['record_type', 'record_id', 'seq'])
    op.create_index('ix_events_occurred_at', 'events', ['occurred_at'])
    op.create_index(op.f('ix_events_type'), 'events', ['type'])


def downgrade() -> None:
    op.drop_table('events')
