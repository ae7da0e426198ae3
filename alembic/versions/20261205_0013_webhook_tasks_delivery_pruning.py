"""webhook tasks and delivery pruning: a task kind, and an index for the round

`webhook_endpoint_disabled` joins the task kinds (the admins' task when an endpoint is
disabled); such a task names the endpoint with `related_type = 'webhook_endpoint'`, a
plain string column the database does not check. Settled deliveries get the index the
scheduled round prunes them by.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TASK_KINDS = (
    "trade_show_follow_up",
    "nurture_touch",
    "satisfaction_survey",
    "first_visit",
    "complaint_follow_up",
    "renewal",
    "dormant_reactivation",
    "sla_escalation",
    "sla_at_risk",
    "delivery_notice",
    "general",
)
NEW_TASK_KINDS = (*OLD_TASK_KINDS, "webhook_endpoint_disabled")
_SETTLED = sa.text("next_attempt_at IS NULL")


def _task_kinds(kinds: Sequence[str]) -> None:
    """Replace the CHECK constraint that limits `tasks.kind` to `kinds`."""
    name = op.f("ck_tasks_task_kind")
    condition = sa.column("kind").in_(kinds)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a constraint: the table is copied with the new one.
        with op.batch_alter_table("tasks", recreate="always") as batch:
            batch.drop_constraint(name, type_="check")
            batch.create_check_constraint(name, condition)
        return
    op.drop_constraint(name, "tasks", type_="check")
    op.create_check_constraint(name, "tasks", condition)


def upgrade() -> None:
    _task_kinds(NEW_TASK_KINDS)
    op.create_index(
        "ix_webhook_deliveries_settled_created_at",
        "webhook_deliveries",
        ["created_at"],
        unique=False,
        postgresql_where=_SETTLED,
        sqlite_where=_SETTLED,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_deliveries_settled_created_at",
        table_name="webhook_deliveries",
        postgresql_where=_SETTLED,
        sqlite_where=_SETTLED,
    )
    op.execute(
        sa.text("UPDATE tasks SET kind = 'general' WHERE kind = 'webhook_endpoint_disabled'")
    )
    _task_kinds(OLD_TASK_KINDS)
