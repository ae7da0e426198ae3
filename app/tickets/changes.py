"""How every change to a ticket is applied: through the records pipeline, as one unit.

Each PATCH and action locks the ticket row, checks `If-Match` and the status machine,
decides what happened (SLA events to append, fields to set), lets the clocks catch up
(`clocks.plan_clocks`) and saves it as a new version with its audit entry, its event and
the SLA log rows it appends (one statement on PostgreSQL). The sweeper takes the same
row lock, so it and a request never interleave on one ticket.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.access import Kind, Principal
from app.core.crud import Row
from app.core.enums import Role, SlaEventKind
from app.core.errors import Conflict, ErrorItem, InvalidInput, ServiceError
from app.core.records import Records, inserts, record_change
from app.events.catalogue import EventType
from app.rules.common import Check
from app.rules.sla import SlaEvent, SlaPolicy
from app.rules.sla_registry import SlaRegistry
from app.rules.tickets import TicketAction, transition_check
from app.tickets import clock
from app.tickets import policy as policies
from app.tickets import repository as repo
from app.tickets.clocks import (
    CLOCK_JOB,
    Pending,
    as_events,
    plan_clocks,
    policy_in_force,
    reached_markers,
    record_markers,
)
from app.users.authority import require_assignee

TICKETS = Records(repo.tickets, "ticket")

# The event of each action; a priority or type change that keeps the policy is an edit.
ACTION_EVENTS = {
    TicketAction.edit: EventType.ticket_updated,
    TicketAction.respond: EventType.ticket_responded,
    TicketAction.pause: EventType.ticket_paused,
    TicketAction.resume: EventType.ticket_resumed,
    TicketAction.resolve: EventType.ticket_resolved,
    TicketAction.reopen: EventType.ticket_reopened,
    TicketAction.close: EventType.ticket_closed,
    TicketAction.assign: EventType.ticket_assigned,
    TicketAction.retarget: EventType.ticket_retargeted,
}


def refuse(error: type[ServiceError], checks: Iterable[Check]) -> ServiceError:
    """A problem listing every unmet check, each with its code and field."""
    items = [ErrorItem(check.code, check.message, check.field) for check in checks]
    return error("; ".join(item.message for item in items) + ".", errors=items)


async def require_of_customer(
    conn: AsyncConnection,
    table: sa.Table,
    ident: uuid.UUID | None,
    customer_id: uuid.UUID,
    field_name: str,
) -> None:
    """A ticket's contact or contract must be the ticket customer's own."""
    if ident is None or await repo.belongs_to_customer(conn, table, ident, customer_id):
        return
    label = field_name.removesuffix("_id")
    raise refuse(
        InvalidInput,
        [
            Check(
                f"{label}_not_of_customer",
                f"{field_name} is not a {label} of the customer",
                field_name,
            )
        ],
    )


async def require_ticket_assignee(
    conn: AsyncConnection, principal: Principal, assignee_id: uuid.UUID
) -> None:
    """Support agents dispatch tickets among themselves; a manager gives them to an agent
    or within the team; others follow the usual rule."""
    await require_assignee(conn, principal, assignee_id, "assignee_id", pool=Role.support_agent)


@dataclass(frozen=True)
class Change:
    """What an action does: SLA events to append, fields to set, notes for the audit trail,
    and the event type when it is not the action's own."""

    events: Sequence[Pending] = ()
    fields: dict[str, Any] = field(default_factory=dict)
    note: dict[str, Any] = field(default_factory=dict)
    event: EventType | None = None


@dataclass(frozen=True)
class Moment:
    """The ticket as locked, its SLA log, and the instant the change happens."""

    ticket: Row
    log: list[SlaEvent]
    now: datetime
    registry: SlaRegistry

    @property
    def policy(self) -> SlaPolicy:
        return policy_in_force(self.registry, self.log)

    def event(self, kind: SlaEventKind) -> SlaEvent:
        """An event happening now, on the policy in force."""
        return self.registry.event(kind, self.now, self.policy)

    def settle(self, stop: SlaEvent, payload: dict[str, Any] | None = None) -> list[Pending]:
        """The stop and its outcome (`met`, or `breached` at the due instant)."""
        stop_and_outcome = self.registry.settle(self.log, stop)
        return [(stop_and_outcome[0], payload or {}), *((e, {}) for e in stop_and_outcome[1:])]


Decide = Callable[[Moment], Awaitable[Change]]


async def change_ticket(
    conn: AsyncConnection,
    principal: Principal,
    ticket_id: uuid.UUID,
    expected_version: int | None,
    action: TicketAction,
    decide: Decide,
) -> Row:
    principal.require(Kind.tickets, "write")
    stored = await TICKETS.locked(conn, principal, ticket_id, expected_version)
    current = {k: v for k, v in stored.items() if k not in repo.UNSHOWN_CLOCK_COLUMNS}
    if (refused := transition_check(action, current["status"])) is not None:
        raise refuse(Conflict, [refused])
    rows = await repo.load_log(conn, ticket_id)
    registry = policies.REGISTRY
    moment = Moment(current, as_events(rows), clock.now(), registry)
    change = await decide(moment)
    plan = plan_clocks(registry, moment.log, change.events, moment.now, current["escalation_level"])
    values = _to_store(stored, {**change.fields, **plan.columns})
    markers = await reached_markers(conn, {**current, **values}, plan, moment.now)
    next_seq = rows[-1]["seq"] + 1 if rows else 1
    log = repo.log_rows(
        ticket_id, next_seq, plan.appended, actor_id=principal.user_id, recorded_at=moment.now
    )
    event = change.event or ACTION_EVENTS[action]
    row = await TICKETS.save(
        conn,
        principal,
        current,
        values,
        event,
        action=f"ticket.{action}",
        expected_version=expected_version,
        companions=lambda _: inserts(repo.events_table, log),
        audit_note=change.note,
    )
    if row is current and (log or change.note):
        # The ticket reads as it did, yet something happened to it: a response the audit
        # trail keeps, an event of its SLA log. Neither makes a new version.
        await record_change(
            conn,
            principal,
            event if log else None,
            current,
            action=f"ticket.{action}",
            entity_type="ticket",
            before=current,
            companions=inserts(repo.events_table, log),
            audit_note=change.note,
        )
    await record_markers(conn, row, current, markers, job=CLOCK_JOB)
    return row


def _to_store(stored: Row, values: dict[str, Any]) -> dict[str, Any]:
    """`values` without the unshown clock columns that keep their stored value (the
    pipeline compares the others with the ticket as shown)."""
    return {
        name: value
        for name, value in values.items()
        if name not in repo.UNSHOWN_CLOCK_COLUMNS or stored[name] != value
    }
