"""Keeping a ticket's SLA log, stored due times and SLA tasks in step.

One path for requests and the sweeper alike: append what happened, let the SLA rules
replay the log as of `now`, record any breach or at-risk point reached (dated when it
happened, once per clock), raise its task and audit it, and store the instants the rules
computed (due, at risk, next sweep). So whichever comes first, a request or the sweeper,
records, escalates and audits a breach, and the other finds it on record.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import record
from app.core.crud import Row
from app.core.enums import CustomerTier, SlaEventKind, TaskKind
from app.rules.sla import (
    SlaEvent,
    SlaPolicy,
    SlaSnapshot,
    due_breaches,
    needs_at_risk_warning,
    next_sweep_at,
)
from app.rules.sla_registry import SlaRegistry
from app.rules.tasks import TaskSpec
from app.tasks.schemas import RelatedType
from app.tasks.service import create_triggered_task
from app.tickets import repository as repo

Pending = tuple[SlaEvent, Mapping[str, Any]]  # an event to append and its payload
_TARGETING = frozenset({SlaEventKind.started, SlaEventKind.retargeted})


def as_events(rows: Iterable[Row]) -> list[SlaEvent]:
    return [SlaEvent.model_validate(dict(row)) for row in rows]


def effective_tier(customer: Row) -> CustomerTier:
    """A manager's override wins over the computed tier (docs/domain.md §2)."""
    return CustomerTier(customer["tier_override"] or customer["tier"])


def policy_in_force(registry: SlaRegistry, log: Sequence[SlaEvent]) -> SlaPolicy:
    """The policy the ticket's clocks run on: the one its last start or retarget named."""
    latest = next(event for event in reversed(log) if event.kind in _TARGETING)
    return registry.policy(latest.policy_version)


@dataclass(frozen=True)
class ClockPlan:
    """What to append to the log and store on the ticket after something happened."""

    appended: list[Pending]
    columns: dict[str, Any]
    snapshot: SlaSnapshot

    def marked(self, kind: SlaEventKind) -> list[SlaEvent]:
        return [event for event, _ in self.appended if event.kind is kind]


def plan_clocks(
    registry: SlaRegistry,
    log: Sequence[SlaEvent],
    new: Sequence[Pending],
    now: datetime,
    escalation_level: int,
) -> ClockPlan:
    """Replay the log plus `new` as of `now` and add the breaches and warnings now due."""
    events = [*log, *(event for event, _ in new)]
    snapshot = registry.snapshot(events, now)
    reached = [*due_breaches(snapshot, now), *needs_at_risk_warning(snapshot, events, now)]
    appended = [*new, *((event, {}) for event in reached)]
    breaches = sum(1 for event, _ in appended if event.kind is SlaEventKind.breached)
    columns = {
        "sla_status": snapshot.sla_status,
        "first_response_due_at": snapshot.first_response.due_at,
        "resolution_due_at": snapshot.resolution.due_at,
        "next_due_at": snapshot.next_due_at,
        "sla_at_risk_at": snapshot.at_risk_at,
        "sla_next_action_at": next_sweep_at(snapshot, (event for event, _ in appended)),
        "escalation_level": escalation_level + breaches,
    }
    return ClockPlan(appended, columns, snapshot)


async def persist_plan(
    conn: AsyncConnection,
    ticket: Row,
    next_seq: int,
    plan: ClockPlan,
    *,
    actor_id: uuid.UUID | None,
    now: datetime,
) -> None:
    """Append the planned events; escalate each breach and warn of each at-risk point.

    The markers are in the log only once per clock, so each is escalated (or warned of)
    and audited exactly once, by whichever request or sweep appended it.
    """
    await repo.append_events(
        conn, ticket["id"], next_seq, plan.appended, actor_id=actor_id, recorded_at=now
    )
    if breaches := plan.marked(SlaEventKind.breached):
        manager_id = await escalation_manager(conn, ticket)
        level = plan.columns["escalation_level"] - len(breaches)
        for number, event in enumerate(breaches, 1):
            await _raise_task(conn, ticket, event, TaskKind.sla_escalation, manager_id, now)
            after = {"escalation_level": level + number, "escalated_to": manager_id}
            await _audit_marker(conn, ticket, event, {"escalation_level": level}, after)
    for event in plan.marked(SlaEventKind.at_risk):
        due = plan.snapshot.clock(event.clock).due_at if event.clock else None
        assignee_id = ticket["assignee_id"]
        await _raise_task(conn, ticket, event, TaskKind.sla_at_risk, assignee_id, due or now)
        await _audit_marker(conn, ticket, event, {}, {"warned": assignee_id})


async def escalation_manager(conn: AsyncConnection, ticket: Row) -> uuid.UUID | None:
    """Who a breach is escalated to: the manager of the assignee's team, else of the team
    of the customer's owner. None leaves the task unassigned, in the pool that directors,
    admins and every manager see."""
    manager_id = await repo.team_manager(conn, ticket["assignee_id"])
    if manager_id is None:
        owner_id = await repo.customer_owner(conn, ticket["customer_id"])
        manager_id = await repo.team_manager(conn, owner_id)
    return manager_id


async def _audit_marker(
    conn: AsyncConnection,
    ticket: Row,
    event: SlaEvent,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> None:
    """`ticket.sla_breached` / `ticket.sla_at_risk`: by the clock, so by no one."""
    facts = {"clock": event.clock, "at": event.at}
    await record(
        conn,
        None,
        f"ticket.sla_{event.kind}",
        "ticket",
        ticket["id"],
        before=before,
        after={**facts, **after},
    )


_HEADLINES = {TaskKind.sla_escalation: "SLA breached", TaskKind.sla_at_risk: "SLA at risk"}


async def _raise_task(
    conn: AsyncConnection,
    ticket: Row,
    event: SlaEvent,
    kind: TaskKind,
    assignee_id: uuid.UUID | None,
    due_at: datetime,
) -> None:
    spec = TaskSpec(
        kind=kind,
        record_id=str(ticket["id"]),
        due_at=due_at,
        # One task per clock and kind for the ticket's whole life: nothing twice.
        dedupe_key=f"{kind}:{ticket['id']}:{event.clock}",
        title=f"{_HEADLINES[kind]} ({event.clock} clock): {ticket['subject']}"[:300],
    )
    await create_triggered_task(conn, spec, assignee_id, RelatedType.ticket, ticket["id"])
