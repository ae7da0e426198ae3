"""Every query for tasks, and the lookups of the records tasks are about."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal, reads_webhooks, visible
from app.core.crud import Row, TableRepository
from app.core.enums import TaskStatus
from app.core.pagination import sort_keys
from app.models import Contract, Customer, Deal, Lead, Quote, Task, Ticket, WebhookEndpoint
from app.tasks.schemas import RelatedType, TaskRead

tasks_table: sa.Table = Task.__table__  # type: ignore[attr-defined]

tasks = TableRepository(tasks_table, Kind.tasks, "task", list(TaskRead.model_fields))

TASK_SORTS = sort_keys(("created_at", ("created_at",)), ("updated_at", ("updated_at",)))

_RELATED: dict[RelatedType, tuple[Any, Kind]] = {
    RelatedType.lead: (Lead, Kind.leads),
    RelatedType.customer: (Customer, Kind.customers),
    RelatedType.deal: (Deal, Kind.deals),
    RelatedType.quote: (Quote, Kind.quotes),
    RelatedType.contract: (Contract, Kind.contracts),
    RelatedType.ticket: (Ticket, Kind.tickets),
}


async def related_is_visible(
    conn: AsyncConnection, principal: Principal, related_type: RelatedType, ident: uuid.UUID
) -> bool:
    """Whether the caller may read the record a task would point at."""
    if related_type == RelatedType.webhook_endpoint:
        return reads_webhooks(principal) and await _endpoint_exists(conn, ident)
    model, kind = _RELATED[related_type]
    if not principal.can(kind, "read"):
        return False
    table: sa.Table = model.__table__
    statement = sa.select(table.c.id).where(table.c.id == ident, visible(principal, kind, table))
    return (await conn.execute(statement)).first() is not None


async def _endpoint_exists(conn: AsyncConnection, ident: uuid.UUID) -> bool:
    endpoints: sa.Table = WebhookEndpoint.__table__  # type: ignore[attr-defined]
    statement = sa.select(endpoints.c.id).where(
        endpoints.c.id == ident, endpoints.c.archived_at.is_(None)
    )
    return (await conn.execute(statement)).first() is not None


async def insert_unless_duplicate(conn: AsyncConnection, values: Mapping[str, Any]) -> Row | None:
    """Insert a triggered task; None when a task with its `dedupe_key` already exists.

    The unique index decides, not a prior SELECT, so two concurrent triggers of one duty
    still make a single task.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(tasks_table)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(*tasks.columns)
    )
    return (await conn.execute(statement)).mappings().first()


def overdue_clause(now: datetime, overdue: bool) -> sa.ColumnElement[bool]:
    """Open tasks past their due time, or (overdue=False) every other task, undated ones too."""
    table = tasks_table
    if overdue:
        return sa.and_(table.c.status == TaskStatus.open, table.c.due_at < now)
    return sa.or_(
        table.c.status != TaskStatus.open, table.c.due_at.is_(None), table.c.due_at >= now
    )
