"""Ticket actions: each a status move and the SLA clock events it implies, and its event."""

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Principal
from app.core.crud import Row
from app.core.enums import (
    FeedbackCategory,
    Role,
    SlaEventKind,
    TaskKind,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from app.core.errors import InvalidInput
from app.events.catalogue import EventType
from app.rules.sla import complaint_follow_up_due, first_response_counts, first_response_event
from app.rules.tasks import TITLES, TaskSpec, TaskTrigger, dedupe_key
from app.rules.tickets import TicketAction, category_checks, queue_for, status_after
from app.tasks.schemas import RelatedType
from app.tasks.service import create_triggered_task
from app.tickets import repository as repo
from app.tickets.changes import (
    Change,
    Moment,
    change_ticket,
    refuse,
    require_ticket_assignee,
)
from app.tickets.clocks import effective_tier
from app.tickets.schemas import (
    TicketAssignment,
    TicketPriorityChange,
    TicketReopening,
    TicketResolution,
    TicketResponse,
    TicketTypeChange,
)

K = SlaEventKind


async def respond(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    data: TicketResponse,
) -> Row:
    """Record a response; an agent's first public one stops the first-response clock."""

    async def decide(moment: Moment) -> Change:
        counts = first_response_counts(data.public, principal.role == Role.support_agent)
        status = moment.ticket["status"]
        fields: dict[str, object] = {
            "status": status_after(TicketAction.respond, status, response_counts=counts)
        }
        events = []
        if counts and moment.ticket["first_responded_at"] is None:
            policy = moment.policy
            stop = first_response_event(
                moment.now,
                is_public=data.public,
                by_agent=True,
                policy=policy,
                calendar=moment.registry.calendar_for(policy),
            )
            events = moment.settle(stop)
            fields["first_responded_at"] = moment.now
        # Tickets have no thread of their own: the audit trail keeps every response.
        note = {"response": {"public": data.public, "body": data.body, "answers_customer": counts}}
        return Change(events, fields, note)

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.respond, decide
    )


async def _status_move(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    action: TicketAction,
    clock_event: SlaEventKind,
) -> Row:
    async def decide(moment: Moment) -> Change:
        status = status_after(action, moment.ticket["status"])
        return Change([(moment.event(clock_event), {})], {"status": status})

    return await change_ticket(conn, principal, ticket_id, expected_version, action, decide)


async def pause(
    conn: AsyncConnection, principal: Principal, ticket_id: uuid.UUID, expected_version: int | None
) -> Row:
    """Waiting on the customer: the resolution clock stops counting."""
    return await _status_move(
        conn, principal, ticket_id, expected_version, TicketAction.pause, K.paused
    )


async def resume(
    conn: AsyncConnection, principal: Principal, ticket_id: uuid.UUID, expected_version: int | None
) -> Row:
    return await _status_move(
        conn, principal, ticket_id, expected_version, TicketAction.resume, K.resumed
    )


async def close(
    conn: AsyncConnection, principal: Principal, ticket_id: uuid.UUID, expected_version: int | None
) -> Row:
    async def decide(moment: Moment) -> Change:
        return Change(fields={"status": TicketStatus.closed, "closed_at": moment.now})

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.close, decide
    )


async def resolve(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    data: TicketResolution,
) -> Row:
    """Stop the resolution clock; a complaint also gets its follow-up call scheduled."""

    async def decide(moment: Moment) -> Change:
        events = moment.settle(moment.event(K.resolved), {"resolution": data.resolution})
        await _schedule_follow_up(conn, principal, moment)
        fields = {"status": TicketStatus.resolved, "resolved_at": moment.now}
        return Change(events, fields, {"resolution": data.resolution})

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.resolve, decide
    )


async def _schedule_follow_up(conn: AsyncConnection, principal: Principal, moment: Moment) -> None:
    """A complaint's follow-up call, when its SLA policy asks for one after resolution."""
    due_at = complaint_follow_up_due(moment.now, moment.policy)
    if due_at is None:
        return
    ticket = moment.ticket
    trigger = TaskTrigger(kind=TaskKind.complaint_follow_up, record_id=ticket["id"])
    spec = TaskSpec(
        kind=trigger.kind,
        record_id=trigger.record_id,
        due_at=due_at,
        dedupe_key=dedupe_key(trigger, moment.now),
        title=f"{TITLES[trigger.kind]}: {ticket['subject']}"[:300],
    )
    assignee_id = ticket["assignee_id"] or principal.user_id
    await create_triggered_task(conn, spec, assignee_id, RelatedType.ticket, ticket["id"])


async def reopen(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    data: TicketReopening,
) -> Row:
    """The resolution clock continues where it stopped, its elapsed time kept."""

    async def decide(moment: Moment) -> Change:
        events = [(moment.event(K.reopened), {"reason": data.reason})]
        fields = {"status": TicketStatus.reopened, "resolved_at": None}
        return Change(events, fields, {"reason": data.reason})

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.reopen, decide
    )


async def assign(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    data: TicketAssignment,
) -> Row:
    async def decide(moment: Moment) -> Change:
        if data.assignee_id is not None:
            await require_ticket_assignee(conn, principal, data.assignee_id)
        return Change(fields={"assignee_id": data.assignee_id})

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.assign, decide
    )


async def _retarget(
    conn: AsyncConnection,
    moment: Moment,
    ticket_type: TicketType,
    priority: TicketPriority,
    category: FeedbackCategory | None,
) -> Change:
    """Switch the clocks to the policy for the new type/priority, keeping elapsed time."""
    customer = await repo.customer_tier_row(conn, moment.ticket["customer_id"])
    policy = moment.registry.policy_for(ticket_type, effective_tier(customer), priority)
    fields = {"type": ticket_type, "priority": priority, "category": category}
    if policy.version == moment.policy.version:
        return Change(fields=fields, event=EventType.ticket_updated)
    retargeted = moment.registry.event(K.retargeted, moment.now, policy)
    return Change([(retargeted, {"type": ticket_type, "priority": priority})], fields)


async def change_priority(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    data: TicketPriorityChange,
) -> Row:
    async def decide(moment: Moment) -> Change:
        ticket = moment.ticket
        return await _retarget(conn, moment, ticket["type"], data.priority, ticket["category"])

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.retarget, decide
    )


async def change_type(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    data: TicketTypeChange,
) -> Row:
    """A new type may bring another SLA policy and, for feedback, another queue."""

    async def decide(moment: Moment) -> Change:
        if checks := category_checks(data.type, data.category):
            raise refuse(InvalidInput, checks)
        change = await _retarget(conn, moment, data.type, moment.ticket["priority"], data.category)
        change.fields["queue"] = queue_for(data.type, data.category)
        return change

    return await change_ticket(
        conn, principal, ticket_id, expected_version, TicketAction.retarget, decide
    )
