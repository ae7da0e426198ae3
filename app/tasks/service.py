"""Task use cases: the SOP's "within N hours" duties, created by people or by triggers."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import SYSTEM, Kind, Principal
from app.core.clock import utcnow
from app.core.crud import Page, Row
from app.core.enums import TaskStatus
from app.core.errors import Conflict, ErrorItem, InvalidInput
from app.core.ids import new_id
from app.core.pagination import SortKey
from app.core.records import Records, record_change
from app.customers.service import assign_owner
from app.events.catalogue import EventType
from app.rules.tasks import TaskSpec
from app.tasks import repository as repo
from app.tasks.schemas import RelatedType, TaskCreate, TaskUpdate

TASKS = Records(repo.tasks, "task")


async def _require_related(
    conn: AsyncConnection, principal: Principal, related_type: RelatedType, ident: uuid.UUID
) -> None:
    if not await repo.related_is_visible(conn, principal, related_type, ident):
        raise InvalidInput(
            f"related_id names no {related_type} you can see: {ident}.",
            errors=[ErrorItem("reference_not_found", f"no such {related_type}", "related_id")],
        )


def _require_open(task: Row) -> None:
    if task["status"] != TaskStatus.open:
        raise Conflict(
            f"The task is {task['status']}; only open tasks change.",
            errors=[ErrorItem("task_not_open", f"the task is {task['status']}", "status")],
        )


async def create_task(conn: AsyncConnection, principal: Principal, data: TaskCreate) -> Row:
    principal.require(Kind.tasks, "create")
    values = data.model_dump()
    values["assignee_id"] = await assign_owner(conn, principal, data.assignee_id, "assignee_id")
    if data.related_type is not None and data.related_id is not None:
        await _require_related(conn, principal, data.related_type, data.related_id)
    return await TASKS.create(conn, principal, values, EventType.task_created)


async def create_triggered_task(
    conn: AsyncConnection,
    spec: TaskSpec,
    assignee_id: uuid.UUID | None,
    related_type: RelatedType,
    related_id: uuid.UUID,
) -> Row | None:
    """Store the task an SOP event imposes, once: None when its duty already has a task.

    For other domains' services (lead capture, contract acceptance, the sweepers), inside
    their own transaction; `spec` comes from `app.rules.tasks.tasks_for_event`.
    """
    now = utcnow()
    row = await repo.insert_unless_duplicate(
        conn,
        {
            "id": new_id(),
            "created_at": now,
            "updated_at": now,
            "kind": spec.kind,
            "title": spec.title,
            "due_at": spec.due_at,
            "dedupe_key": spec.dedupe_key,
            "assignee_id": assignee_id,
            "related_type": related_type,
            "related_id": related_id,
        },
    )
    if row is not None:
        await record_change(
            conn, SYSTEM, EventType.task_created, row, action="create", job="sop_tasks"
        )
    return row


async def close_duties(
    conn: AsyncConnection,
    principal: Principal,
    select_ids: sa.Select[Any],
    status: TaskStatus,
) -> None:
    """Close the SOP tasks a record's state made moot (each through the pipeline, so each
    is audited and heard of): `done` when done by other means, `cancelled` otherwise.
    Whoever they are assigned to: the record's state decides, not them."""
    ids = (await conn.execute(select_ids)).scalars().all()
    now = utcnow()
    values: dict[str, Any] = {"status": status}
    if status == TaskStatus.done:
        values |= {"completed_at": now, "completed_by": principal.user_id}
    event = EventType.task_completed if status == TaskStatus.done else EventType.task_cancelled
    for task_id in ids:
        current = await repo.tasks.get(conn, SYSTEM, task_id)
        await TASKS.save(conn, principal, current, values, event)


async def get_task(conn: AsyncConnection, principal: Principal, task_id: uuid.UUID) -> Row:
    principal.require(Kind.tasks, "read")
    return await repo.tasks.get(conn, principal, task_id)


async def update_task(
    conn: AsyncConnection,
    principal: Principal,
    task_id: uuid.UUID,
    data: TaskUpdate,
    expected_version: int | None,
) -> Row:
    principal.require(Kind.tasks, "write")
    current = await repo.tasks.get(conn, principal, task_id)
    _require_open(current)
    changes = data.changes()
    if "assignee_id" in changes:
        changes["assignee_id"] = await assign_owner(
            conn, principal, changes["assignee_id"], "assignee_id"
        )
    return await TASKS.save(
        conn,
        principal,
        current,
        changes,
        EventType.task_updated,
        action="update",
        expected_version=expected_version,
    )


async def _finish(
    conn: AsyncConnection,
    principal: Principal,
    task_id: uuid.UUID,
    expected_version: int | None,
    values: dict[str, Any],
    event: EventType,
) -> Row:
    principal.require(Kind.tasks, "write")
    # Locked so that of two people closing one task at once, the second sees it closed.
    current = await TASKS.locked(conn, principal, task_id, expected_version)
    _require_open(current)
    return await TASKS.save(conn, principal, current, values, event)


async def complete_task(
    conn: AsyncConnection, principal: Principal, task_id: uuid.UUID, expected_version: int | None
) -> Row:
    values = {
        "status": TaskStatus.done,
        "completed_at": utcnow(),
        "completed_by": principal.user_id,
    }
    return await _finish(
        conn, principal, task_id, expected_version, values, EventType.task_completed
    )


async def cancel_task(
    conn: AsyncConnection, principal: Principal, task_id: uuid.UUID, expected_version: int | None
) -> Row:
    values = {"status": TaskStatus.cancelled}
    return await _finish(
        conn, principal, task_id, expected_version, values, EventType.task_cancelled
    )


def _filters(
    *,
    equals: dict[str, Any],
    due_before: datetime | None,
    due_after: datetime | None,
    overdue: bool | None,
) -> list[sa.ColumnElement[bool]]:
    table = repo.tasks_table
    where = [table.c[name] == value for name, value in equals.items() if value is not None]
    # Half-open range (`after` inclusive, `before` exclusive) so adjacent windows tile.
    if due_before is not None:
        where.append(table.c.due_at < due_before)
    if due_after is not None:
        where.append(table.c.due_at >= due_after)
    if overdue is not None:
        where.append(repo.overdue_clause(utcnow(), overdue))
    return where


async def list_tasks(
    conn: AsyncConnection,
    principal: Principal,
    *,
    equals: dict[str, Any],
    due_before: datetime | None,
    due_after: datetime | None,
    overdue: bool | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.tasks, "read")
    if (equals.get("related_type") is None) != (equals.get("related_id") is None):
        raise InvalidInput(
            "Filter by related_type and related_id together.",
            errors=[ErrorItem("related_pair", "give both or neither", "related_id")],
        )
    where = _filters(equals=equals, due_before=due_before, due_after=due_after, overdue=overdue)
    return await repo.tasks.list(
        conn, principal, where=where, sort=sort, cursor=cursor, limit=limit
    )
