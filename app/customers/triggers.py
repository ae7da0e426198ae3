"""Duties that come due with time rather than with a request: renewals and reactivation.

Run by the scheduler loop and `salesflow run-triggers`. Candidates are found in one query
each; the rules build each task and its dedupe key, and one bulk INSERT … ON CONFLICT DO
NOTHING keeps every duty to a single task however often this runs.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import insert_or_skip
from app.core.enums import CustomerTier, TaskKind, TaskStatus
from app.core.ids import new_id
from app.customers.tiering import ACTIVE_CONTRACT, contracts, customers
from app.models import Task
from app.rules.tasks import TaskSpec, TaskTrigger, TaskTriggerPolicy, task_for_trigger

tasks: sa.Table = Task.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TriggerRun:
    renewals: int
    reactivations: int


def _end_instant(day: Any) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def _renewal_candidates(
    conn: AsyncConnection, now: datetime, policy: TaskTriggerPolicy
) -> list[Any]:
    horizon = (now + timedelta(days=policy.renewal_days_before_end)).date()
    statement = (
        sa.select(contracts.c.id, contracts.c.end_date, contracts.c.owner_id, customers.c.owner_id)
        .join(customers, customers.c.id == contracts.c.customer_id)
        .where(
            contracts.c.status.in_(ACTIVE_CONTRACT),
            contracts.c.end_date > now.date(),
            contracts.c.end_date <= horizon,
            customers.c.tier.in_(policy.renewal_tiers),
        )
    )
    return list((await conn.execute(statement)).all())


async def _dormant_candidates(conn: AsyncConnection, now: datetime) -> list[Any]:
    statement = sa.select(customers.c.id, customers.c.last_purchase_at, customers.c.owner_id).where(
        customers.c.tier == CustomerTier.dormant,
        customers.c.last_purchase_at.is_not(None),
        customers.c.archived_at.is_(None),
    )
    return list((await conn.execute(statement)).all())


def _task_row(spec: TaskSpec, assignee: Any, related_type: str, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(),
        "kind": spec.kind,
        "title": spec.title,
        "assignee_id": assignee,
        "due_at": spec.due_at,
        "status": TaskStatus.open,
        "related_type": related_type,
        "related_id": spec.record_id,
        "dedupe_key": spec.dedupe_key,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


async def insert_task_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Insert triggered tasks; a duty that already has its task is skipped, not repeated."""
    if not rows:
        return 0
    for row in rows:
        row["related_id"] = _as_uuid(row["related_id"])
    statement = insert_or_skip(conn, tasks, index_elements=["dedupe_key"])
    result = await conn.execute(statement.returning(tasks.c.id), rows)
    return len(result.all())


def _as_uuid(value: Any) -> Any:
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def run_time_triggers(
    conn: AsyncConnection, now: datetime, policy: TaskTriggerPolicy
) -> TriggerRun:
    renewal_rows = []
    for contract_id, end_date, contract_owner, customer_owner in await _renewal_candidates(
        conn, now, policy
    ):
        trigger = TaskTrigger(kind=TaskKind.renewal, record_id=contract_id)
        spec = task_for_trigger(trigger, _end_instant(end_date), policy)
        renewal_rows.append(_task_row(spec, contract_owner or customer_owner, "contract", now))
    reactivation_rows = []
    for customer_id, last_purchase_at, owner_id in await _dormant_candidates(conn, now):
        trigger = TaskTrigger(kind=TaskKind.dormant_reactivation, record_id=customer_id)
        spec = task_for_trigger(trigger, last_purchase_at, policy)
        reactivation_rows.append(_task_row(spec, owner_id, "customer", now))
    return TriggerRun(
        renewals=await insert_task_rows(conn, renewal_rows),
        reactivations=await insert_task_rows(conn, reactivation_rows),
    )
