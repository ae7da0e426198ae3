"""Opening, reading, listing and editing tickets; actions are in `actions.py`."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.crud import Page, Row, require_reference
from app.core.enums import SlaEventKind, SlaStatus, TicketStatus
from app.core.errors import InvalidInput
from app.core.ids import new_id
from app.core.pagination import SortKey
from app.core.records import inserts
from app.events.catalogue import EventType
from app.rules.sla import explain, validate_reported_at
from app.rules.tickets import TicketAction, category_checks, queue_for
from app.tickets import clock
from app.tickets import policy as policies
from app.tickets import repository as repo
from app.tickets.changes import (
    TICKETS,
    Change,
    Moment,
    change_ticket,
    refuse,
    require_of_customer,
    require_ticket_assignee,
)
from app.tickets.clocks import (
    CLOCK_JOB,
    as_events,
    effective_tier,
    plan_clocks,
    reached_markers,
    record_markers,
)
from app.tickets.schemas import SlaEventRead, TicketCreate, TicketUpdate


async def open_ticket(
    conn: AsyncConnection,
    principal: Principal,
    data: TicketCreate,
) -> Row:
    """A new ticket with its clocks started at `reported_at` on the policy that fits it."""
    principal.require(Kind.tickets, "create")
    now = clock.now()
    reported_at = data.reported_at or now
    registry = policies.REGISTRY
    if checks := [
        *validate_reported_at(reported_at, now, registry.policy_set.max_reported_age),
        *category_checks(data.type, data.category),
    ]:
        raise refuse(InvalidInput, checks)
    customer = require_reference(
        await repo.customer_for_ticket(conn, principal, data.customer_id),
        "customer_id",
        "customer",
        data.customer_id,
    )
    await require_of_customer(
        conn, repo.contacts_table, data.contact_id, data.customer_id, "contact_id"
    )
    await require_of_customer(
        conn, repo.contracts_table, data.contract_id, data.customer_id, "contract_id"
    )
    if data.assignee_id is not None:
        await require_ticket_assignee(conn, principal, data.assignee_id)
    tier = effective_tier(customer)
    sla_policy = registry.policy_for(data.type, tier, data.priority)
    started = registry.event(SlaEventKind.started, reported_at, sla_policy)
    why = {"type": data.type, "priority": data.priority, "customer_tier": tier}
    plan = plan_clocks(registry, [], [(started, why)], now, escalation_level=0)
    values = {
        **data.model_dump(),
        "id": new_id(),
        "reported_at": reported_at,
        "status": TicketStatus.new,
        "queue": queue_for(data.type, data.category),
        **plan.columns,
    }
    markers = await reached_markers(conn, values, plan, now)
    log = repo.log_rows(values["id"], 1, plan.appended, actor_id=principal.user_id, recorded_at=now)
    row = await TICKETS.create(
        conn,
        principal,
        values,
        EventType.ticket_created,
        action="ticket.created",
        companions=lambda _: inserts(repo.events_table, log),
    )
    await record_markers(conn, row, None, markers, job=CLOCK_JOB)
    return row


async def get_ticket(conn: AsyncConnection, principal: Principal, ticket_id: uuid.UUID) -> Row:
    principal.require(Kind.tickets, "read")
    return await repo.tickets.get(conn, principal, ticket_id)


async def list_tickets(
    conn: AsyncConnection,
    principal: Principal,
    *,
    filters: dict[str, Any],
    sla_status: SlaStatus | None,
    created_after: datetime | None,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> Page:
    principal.require(Kind.tickets, "read")
    table = repo.tickets_table
    where: list[sa.ColumnElement[bool]] = []
    if sla_status is not None:
        where.append(repo.sla_status_is(sla_status))
    if created_after is not None:
        where.append(table.c.created_at >= created_after)
    if "next_due_at" in sort.columns:
        # The work queue: tickets whose clocks all stopped have nothing due and drop out.
        where.append(table.c.next_due_at.is_not(None))
    return await repo.tickets.list(
        conn, principal, filters=filters, where=where, sort=sort, cursor=cursor, limit=limit
    )


async def update_ticket(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: TicketUpdate,
    expected_version: int | None,
) -> Row:
    changes = data.changes()

    async def decide(moment: Moment) -> Change:
        customer_id = moment.ticket["customer_id"]
        await require_of_customer(
            conn, repo.contacts_table, changes.get("contact_id"), customer_id, "contact_id"
        )
        return Change(fields=changes)

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.edit, decide
    )


async def ticket_sla(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
) -> dict[str, Any]:
    """The SLA event log and both clocks recomputed from it now, explained."""
    await get_ticket(conn, principal, ticket_id)
    rows = await repo.load_log(conn, ticket_id)
    snapshot = policies.REGISTRY.snapshot(as_events(rows), clock.now())
    return {
        "ticket_id": ticket_id,
        "events": [{name: row[name] for name in SlaEventRead.model_fields} for row in rows],
        "explanation": explain(snapshot),
    }
