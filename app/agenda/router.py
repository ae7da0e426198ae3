"""A rep's morning list in one call."""

from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal, visible
from app.core.clock import utcnow
from app.core.deps import Conn, CurrentPrincipal
from app.core.enums import LeadStatus, TaskStatus
from app.core.json import JsonResponse
from app.core.routing import api_router, problems
from app.customers.health import warning_condition
from app.customers.tiering import customers
from app.models import Lead, Task
from app.rules.customers import DEFAULT_CUSTOMER_POLICY, HealthWarningCode

router = api_router("/api/v1/me", "agenda")
tasks: sa.Table = Task.__table__  # type: ignore[attr-defined]
leads: sa.Table = Lead.__table__  # type: ignore[attr-defined]


class AgendaTask(BaseModel):
    id: str
    title: str
    kind: str
    due_at: datetime | None
    related_type: str | None
    related_id: str | None


class AgendaCustomer(BaseModel):
    id: str
    name: str
    tier: str
    last_contact_at: datetime | None


class AgendaLead(BaseModel):
    id: str
    company_name: str
    status: str
    grade: str | None
    next_touch_at: datetime | None


class Agenda(BaseModel):
    generated_at: datetime
    overdue_tasks: list[AgendaTask]
    tasks_due_today: list[AgendaTask]
    customers_needing_contact: list[AgendaCustomer]
    leads_due_for_touch: list[AgendaLead]


_TASK_COLUMNS = [tasks.c[n] for n in AgendaTask.model_fields]


async def _rows(conn: AsyncConnection, statement: sa.Select[Any]) -> list[Any]:
    return list((await conn.execute(statement)).mappings().all())


def _day_end(now: datetime) -> datetime:
    return datetime(now.year, now.month, now.day, tzinfo=now.tzinfo) + timedelta(days=1)


@router.get("/agenda", response_model=Agenda, responses=problems(403))
async def get_my_agenda(
    conn: Conn,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200, description="Most items per section.")] = 50,
) -> JsonResponse:
    """Your morning list: overdue and due-today tasks, your customers with no contact for
    60 days (or never), and your leads due for a nurture touch — each section oldest first."""
    now = utcnow()
    mine = principal.id
    open_tasks = sa.select(*_TASK_COLUMNS).where(
        tasks.c.assignee_id == mine, tasks.c.status == TaskStatus.open
    )
    overdue = open_tasks.where(tasks.c.due_at < now).order_by(tasks.c.due_at, tasks.c.id)
    today = open_tasks.where(tasks.c.due_at >= now, tasks.c.due_at < _day_end(now)).order_by(
        tasks.c.due_at, tasks.c.id
    )
    return JsonResponse(
        {
            "generated_at": now,
            "overdue_tasks": await _rows(conn, overdue.limit(limit)),
            "tasks_due_today": await _rows(conn, today.limit(limit)),
            "customers_needing_contact": await _customers_needing_contact(
                conn, principal, now, limit
            ),
            "leads_due_for_touch": await _leads_due(conn, principal, now, limit),
        }
    )


async def _customers_needing_contact(
    conn: AsyncConnection, principal: Principal, now: datetime, limit: int
) -> list[Any]:
    if not principal.can(Kind.customers, "read"):
        return []
    policy = DEFAULT_CUSTOMER_POLICY
    statement = (
        sa.select(customers.c.id, customers.c.name, customers.c.tier, customers.c.last_contact_at)
        .where(
            customers.c.owner_id == principal.id,
            customers.c.archived_at.is_(None),
            sa.or_(
                warning_condition(HealthWarningCode.never_contacted, now, policy),
                warning_condition(HealthWarningCode.no_contact_60d, now, policy),
            ),
        )
        .order_by(
            customers.c.last_contact_at.is_not(None), customers.c.last_contact_at, customers.c.id
        )
        .limit(limit)
    )
    return await _rows(conn, statement)


async def _leads_due(
    conn: AsyncConnection, principal: Principal, now: datetime, limit: int
) -> list[Any]:
    if not principal.can(Kind.leads, "read"):
        return []
    statement = (
        sa.select(
            leads.c.id, leads.c.company_name, leads.c.status, leads.c.grade, leads.c.next_touch_at
        )
        .where(
            leads.c.owner_id == principal.id,
            leads.c.status.in_([LeadStatus.nurturing, LeadStatus.archived]),
            leads.c.next_touch_at <= now,
            visible(principal, Kind.leads, leads),
        )
        .order_by(leads.c.next_touch_at, leads.c.id)
        .limit(limit)
    )
    return await _rows(conn, statement)
