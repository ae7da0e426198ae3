"""Tasks: the SOP's "within N hours" duties, so nothing depends on memory."""

import uuid
from typing import Annotated

from fastapi import Query

from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import TaskKind, TaskStatus
from app.core.http import IfMatch, created_response, record_response
from app.core.json import JsonResponse
from app.core.pagination import sort_enum
from app.core.routing import (
    DEFAULT_PAGE_SIZE,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    Cursor,
    Limit,
    api_router,
)
from app.core.schemas import AwareDatetime, Page
from app.tasks import service
from app.tasks.repository import TASK_SORTS
from app.tasks.schemas import RelatedType, TaskCreate, TaskRead, TaskUpdate

router = api_router("/api/v1/tasks", "tasks")

TaskSort = sort_enum("TaskSort", TASK_SORTS)


@router.post("", status_code=201, response_model=TaskRead, responses=WRITE_PROBLEMS)
async def create_task(
    body: TaskCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Create a task. It is yours unless you name an `assignee_id` (managers and above may
    assign anyone). `related_type` + `related_id` link it to a record you can see.

    The service also creates tasks itself when an SOP event happens (trade-show lead
    follow-up, survey after acceptance...), once per duty.
    """

    async def make() -> JsonResponse:
        row = await service.create_task(conn, principal, body)
        return created_response(row, f"/api/v1/tasks/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[TaskRead], responses=READ_PROBLEMS)
async def list_tasks(
    conn: Conn,
    principal: CurrentPrincipal,
    assignee_id: uuid.UUID | None = None,
    status: TaskStatus | None = None,
    kind: TaskKind | None = None,
    due_before: Annotated[
        AwareDatetime | None, Query(description="Due strictly before this instant.")
    ] = None,
    due_after: Annotated[
        AwareDatetime | None, Query(description="Due at or after this instant.")
    ] = None,
    related_type: Annotated[
        RelatedType | None, Query(description="With `related_id`: tasks about that record.")
    ] = None,
    related_id: uuid.UUID | None = None,
    overdue: Annotated[
        bool | None, Query(description="true: open tasks past due; false: all the others.")
    ] = None,
    sort: TaskSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the tasks you may see: your own, or your team's if you are a manager.

    `?assignee_id=<me>&overdue=true` is a rep's morning list in one call.
    """
    result = await service.list_tasks(
        conn,
        principal,
        equals={
            "assignee_id": assignee_id,
            "status": status,
            "kind": kind,
            "related_type": related_type,
            "related_id": related_id,
        },
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        sort=TASK_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{task_id}", response_model=TaskRead, responses=READ_PROBLEMS)
async def get_task(task_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one task."""
    return record_response(await service.get_task(conn, principal, task_id))


@router.patch("/{task_id}", response_model=TaskRead, responses=WRITE_PROBLEMS)
async def update_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Change an open task's title, description, due time or assignee. Send `If-Match`.

    The status is not a field: use `POST /api/v1/tasks/{id}/complete` or `/cancel`.
    """
    return record_response(await service.update_task(conn, principal, task_id, body, version))


@router.post("/{task_id}/complete", response_model=TaskRead, responses=WRITE_PROBLEMS)
async def complete_task(
    task_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Mark an open task done, recording when and by whom. `409` if it is not open."""

    async def make() -> JsonResponse:
        return record_response(await service.complete_task(conn, principal, task_id, version))

    return await idem.respond(make)  # type: ignore[return-value]


@router.post("/{task_id}/cancel", response_model=TaskRead, responses=WRITE_PROBLEMS)
async def cancel_task(
    task_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> JsonResponse:
    """Cancel an open task that no longer needs doing. `409` if it is not open."""

    async def make() -> JsonResponse:
        return record_response(await service.cancel_task(conn, principal, task_id, version))

    return await idem.respond(make)  # type: ignore[return-value]
