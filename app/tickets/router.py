"""After-sales tickets and their SLA clocks (first response and resolution)."""

import uuid
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from app.core.deps import Conn, CurrentPrincipal, IdempotentPost
from app.core.enums import SlaStatus, TicketPriority, TicketStatus, TicketType
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
from app.tickets import actions, service
from app.tickets.repository import TICKET_SORTS
from app.tickets.schemas import (
    TicketAssignment,
    TicketCreate,
    TicketPriorityChange,
    TicketRead,
    TicketReopening,
    TicketResolution,
    TicketResponse,
    TicketSlaRead,
    TicketTypeChange,
    TicketUpdate,
)

router = api_router("/api/v1/tickets", "tickets")

TicketSort = sort_enum("TicketSort", TICKET_SORTS)


@router.post("", status_code=201, response_model=TicketRead, responses=WRITE_PROBLEMS)
async def create_ticket(
    body: TicketCreate, conn: Conn, principal: CurrentPrincipal, idem: IdempotentPost
) -> JsonResponse:
    """Open a ticket for a customer and start its SLA clocks.

    The clocks start at `reported_at` (default: now) on the SLA policy for the ticket's
    type, the customer's tier and the priority — e.g. first response within 1 hour and
    resolution within 48 hours, 24x7; complaints 30 minutes and 24 hours. A ticket
    imported with a past `reported_at` may be at risk or breached from the start.
    Feedback needs a `category`, which routes it to a queue (product → `rnd`,
    service → `after_sales`, process → `operations`); other tickets go to `after_sales`.
    """

    async def make() -> JsonResponse:
        row = await service.open_ticket(conn, principal, body)
        return created_response(row, f"/api/v1/tickets/{row['id']}")

    return await idem.respond(make)  # type: ignore[return-value]


@router.get("", response_model=Page[TicketRead], responses=READ_PROBLEMS)
async def list_tickets(
    conn: Conn,
    principal: CurrentPrincipal,
    assignee_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    status: TicketStatus | None = None,
    type: TicketType | None = None,
    priority: TicketPriority | None = None,
    sla_status: SlaStatus | None = None,
    queue: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="Created at or after this instant.")
    ] = None,
    sort: TicketSort = "created_at",  # type: ignore[valid-type, assignment]
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> JsonResponse:
    """List the tickets you may see, filtered and in keyset order.

    `sort=next_due_at` is an agent's work queue (`assignee_id=<me>&sort=next_due_at`):
    soonest deadline first; tickets with no running clock (resolved, closed, or waiting
    on the customer after their first response) have nothing due and are left out.

    `sla_status` reads, and filters, as of this moment: a ticket whose running clock
    has used 75 % of its target is `at_risk`, and one past its due time `breached`, from
    that very second, before the SLA sweeper (every `SALESFLOW_SLA_SWEEP_INTERVAL_SECONDS`)
    records the warning or the breach.
    """
    result = await service.list_tickets(
        conn,
        principal,
        filters={
            "assignee_id": assignee_id,
            "customer_id": customer_id,
            "status": status,
            "type": type,
            "priority": priority,
            "queue": queue,
        },
        sla_status=sla_status,
        created_after=created_after,
        sort=TICKET_SORTS[sort],
        cursor=cursor,
        limit=limit,
    )
    return JsonResponse(result.as_dict())


@router.get("/{ticket_id}", response_model=TicketRead, responses=READ_PROBLEMS)
async def get_ticket(ticket_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal) -> JsonResponse:
    """Read one ticket with its SLA due times, status and escalation level."""
    return record_response(await service.get_ticket(conn, principal, ticket_id))


@router.patch("/{ticket_id}", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def update_ticket(
    ticket_id: uuid.UUID,
    body: TicketUpdate,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
) -> JsonResponse:
    """Edit subject, description, channel or contact. Send `If-Match` with the ETag you read.

    Status, priority, type and assignee change through the actions
    (`/respond`, `/pause`, `/resume`, `/resolve`, `/reopen`, `/close`, `/priority`,
    `/type`, `/assign`), because they move the SLA clocks.
    """
    row = await service.update_ticket(conn, principal, ticket_id, body, version)
    return record_response(row)


@router.get("/{ticket_id}/sla", response_model=TicketSlaRead, responses=READ_PROBLEMS)
async def get_ticket_sla(
    ticket_id: uuid.UUID, conn: Conn, principal: CurrentPrincipal
) -> JsonResponse:
    """The ticket's SLA event log and both clocks recomputed from it now, explained.

    Every due time is a pure function of this log and the policy and calendar versions
    recorded on its events: `explanation` shows each clock's running and paused
    segments, how its due time was reached, and when it was met or breached.
    """
    return JsonResponse(await service.ticket_sla(conn, principal, ticket_id))


@router.post("/{ticket_id}/respond", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def respond_to_ticket(
    ticket_id: uuid.UUID,
    body: TicketResponse,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Respond to the customer, or add an internal note (`public: false`).

    Only a support agent's public response answers the ticket: the first one stops the
    first-response clock (met, or breached at its due time if late) and moves a `new`
    or `reopened` ticket to `open`. Other responses are kept in the audit trail and
    change no clock.
    """
    return await idem.act(lambda: actions.respond(conn, principal, ticket_id, version, body))


@router.post("/{ticket_id}/pause", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def pause_ticket(
    ticket_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Wait on the customer (`pending_customer`): the resolution clock stops counting.

    When it resumes, its due time has moved by the time spent waiting.
    """
    return await idem.act(lambda: actions.pause(conn, principal, ticket_id, version))


@router.post("/{ticket_id}/resume", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def resume_ticket(
    ticket_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """The customer answered: back to `open`, the resolution clock runs again."""
    return await idem.act(lambda: actions.resume(conn, principal, ticket_id, version))


@router.post("/{ticket_id}/resolve", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def resolve_ticket(
    ticket_id: uuid.UUID,
    body: TicketResolution,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Resolve the ticket: the resolution clock stops (met, or breached if late).

    A resolved complaint gets a follow-up call task due 72 hours later.
    """
    return await idem.act(lambda: actions.resolve(conn, principal, ticket_id, version, body))


@router.post("/{ticket_id}/reopen", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def reopen_ticket(
    ticket_id: uuid.UUID,
    body: TicketReopening,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Reopen a resolved ticket: the resolution clock continues where it stopped.

    The time already used counts; the ticket is `reopened` until an agent responds or
    it is resumed.
    """
    return await idem.act(lambda: actions.reopen(conn, principal, ticket_id, version, body))


@router.post("/{ticket_id}/close", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def close_ticket(
    ticket_id: uuid.UUID,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Close a resolved ticket for good; a closed ticket no longer changes."""
    return await idem.act(lambda: actions.close(conn, principal, ticket_id, version))


@router.post("/{ticket_id}/assign", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def assign_ticket(
    ticket_id: uuid.UUID,
    body: TicketAssignment,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Give the ticket to an active user (support agents and managers may give it to
    anyone; reps only to themselves), or `null` to put it back in its queue."""
    return await idem.act(lambda: actions.assign(conn, principal, ticket_id, version, body))


@router.post("/{ticket_id}/priority", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def change_ticket_priority(
    ticket_id: uuid.UUID,
    body: TicketPriorityChange,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Change the priority; if that brings another SLA policy, the running clocks switch
    to its targets keeping the time already used (they may be breached at once)."""
    return await idem.act(
        lambda: actions.change_priority(conn, principal, ticket_id, version, body)
    )


@router.post("/{ticket_id}/type", response_model=TicketRead, responses=WRITE_PROBLEMS)
async def change_ticket_type(
    ticket_id: uuid.UUID,
    body: TicketTypeChange,
    version: IfMatch,
    conn: Conn,
    principal: CurrentPrincipal,
    idem: IdempotentPost,
) -> Response:
    """Change the type (e.g. a usage question that turns out a complaint). The clocks
    switch to the new type's policy keeping elapsed time; feedback is re-routed."""
    return await idem.act(lambda: actions.change_type(conn, principal, ticket_id, version, body))
