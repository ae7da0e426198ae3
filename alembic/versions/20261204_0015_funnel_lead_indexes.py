"""funnel lead indexes: a period's qualified and converted leads by their instants

The funnel counts a lead at a step in the bucket it reached the step (created, first
qualified, converted), so it selects leads by `qualified_at` and `converted_at` in the
period as well as by `created_at`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 00:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_leads_qualified_at", "leads", ["qualified_at"])
    op.create_index("ix_leads_converted_at", "leads", ["converted_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_converted_at", table_name="leads")
    op.drop_index("ix_leads_qualified_at", table_name="leads")
