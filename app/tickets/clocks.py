"""Keeping a ticket's SLA log, stored due times and SLA tasks in step.

One path for requests and the sweeper alike: append what happened, let the SLA rules
replay the log as of `now`, record any breach or at-risk point reached (dated when it
happened, once per clock), raise its task, audit it and emit its `ticket.sla_breached` or
`ticket.sla_at_risk` event, and store the instants the rules computed (due, at risk, next
sweep). So whichever comes first, a request or the sweeper, records, escalates, audits and
announces a breach, and the other finds it on record.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.service import audit_table, audit_values
from app.core.access import SYSTEM
from app.core.crud import Row
from app.core.enums import CustomerTier, SlaEventKind, TaskKind
from app.core.records import inserts
from app.core.statements import execute_together
from app.events.catalogue import EventType
from app.events.outbox import event_values
from app.events.outbox import events_table as outbox_table
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
MARKER_EVENTS = {
    SlaEventKind.breached: EventType.ticket_sla_breached,
    SlaEventKind.at_risk: EventType.ticket_sla_at_risk,
}
# Who `origin` names for a marker: the sweeper, or a request that found it reached.
SWEEP_JOB, CLOCK_JOB = "sla_sweep", "sla_clock"


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


@dataclass(frozen=True)
class Marker:
    """A breach or at-risk point a change or a sweep reached: its task and audit facts."""

    event: SlaEvent
    task: TaskKind
    assignee_id: uuid.UUID | None
    due_at: datetime
    before: Mapping[str, Any]
    after: Mapping[str, Any]

    @property
    def audit_action(self) -> str:
        return f"ticket.sla_{self.event.kind}"

    @property
    def event_type(self) -> EventType:
        return MARKER_EVENTS[self.event.kind]


async def reached_markers(
    conn: AsyncConnection, ticket: Mapping[str, Any], plan: ClockPlan, now: datetime
) -> list[Marker]:
    """Each breach `plan` appends, escalated to a manager, and each at-risk point, warned
    of to the assignee, for `ticket` as it is after the change.

    The markers are in the log only once per clock, so each is escalated (or warned of),
    audited and announced exactly once, by whichever request or sweep appended it.
    """
    markers = []
    if breaches := plan.marked(SlaEventKind.breached):
        manager_id = await escalation_manager(conn, ticket)
        level = plan.columns["escalation_level"] - len(breaches)
        for number, event in enumerate(breaches, 1):
            after = {"escalation_level": level + number, "escalated_to": manager_id}
            before = {"escalation_level": level}
            markers.append(Marker(event, TaskKind.sla_escalation, manager_id, now, before, after))
    for event in plan.marked(SlaEventKind.at_risk):
        due = plan.snapshot.clock(event.clock).due_at if event.clock else None
        assignee_id = ticket["assignee_id"]
        after = {"warned": assignee_id}
        markers.append(Marker(event, TaskKind.sla_at_risk, assignee_id, due or now, {}, after))
    return markers


@dataclass
class ClockRecords:
    """What the clocks of one or many tickets add beside the tickets' rows — SLA log
    rows, the audit entries and events of markers and catch-ups, the markers' tasks —
    gathered so that a sweep batch writes them with one statement, not one a ticket."""

    log: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[tuple[Row, Marker]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.log) + len(self.audits) + len(self.events)

    def add_markers(
        self,
        conn: AsyncConnection,
        ticket: Row,
        before: Row | None,
        markers: Sequence[Marker],
        *,
        job: str,
    ) -> None:
        """Audit and announce each marker, by the clock (so by no one, as the service),
        dated when it happened; `ticket` as the API shows it after the change."""
        for marker in markers:
            facts = {"clock": marker.event.clock, "at": marker.event.at, **marker.after}
            self.audits.append(
                audit_values(
                    None,
                    marker.audit_action,
                    "ticket",
                    ticket["id"],
                    before=marker.before,
                    after=facts,
                )
            )
            self.events.append(
                event_values(
                    conn,
                    SYSTEM,
                    marker.event_type,
                    ticket,
                    before=before,
                    at=marker.event.at,
                    job=job,
                )
            )
            self.tasks.append((ticket, marker))

    async def write(self, conn: AsyncConnection) -> None:
        """Store everything gathered (then forget it): one statement on PostgreSQL, then
        the markers' tasks."""
        await execute_together(
            conn,
            [
                *inserts(repo.events_table, self.log),
                *inserts(audit_table, self.audits),
                *inserts(outbox_table, self.events),
            ],
        )
        for ticket, marker in self.tasks:
            await _raise_task(conn, ticket, marker)
        self.log, self.audits, self.events, self.tasks = [], [], [], []


async def record_markers(
    conn: AsyncConnection,
    ticket: Row,
    before: Row | None,
    markers: Sequence[Marker],
    *,
    job: str,
) -> None:
    """After a request's change: its markers' audit entries, events and tasks. Apart from
    the change's own statement, so that they follow its entry and event (a request
    reaches a marker seldom; the sweeper, which reaches most, batches them)."""
    if not markers:
        return
    records = ClockRecords()
    records.add_markers(conn, ticket, before, markers, job=job)
    await records.write(conn)


async def escalation_manager(conn: AsyncConnection, ticket: Mapping[str, Any]) -> uuid.UUID | None:
    """Who a breach is escalated to: the manager of the assignee's team, else of the team
    of the customer's owner. None leaves the task unassigned, in the pool that directors,
    admins and every manager see."""
    manager_id = await repo.team_manager(conn, ticket["assignee_id"])
    if manager_id is None:
        owner_id = await repo.customer_owner(conn, ticket["customer_id"])
        manager_id = await repo.team_manager(conn, owner_id)
    return manager_id


_HEADLINES = {TaskKind.sla_escalation: "SLA breached", TaskKind.sla_at_risk: "SLA at risk"}


async def _raise_task(conn: AsyncConnection, ticket: Row, marker: Marker) -> None:
    kind, clock = marker.task, marker.event.clock
    spec = TaskSpec(
        kind=kind,
        record_id=str(ticket["id"]),
        due_at=marker.due_at,
        # One task per clock and kind for the ticket's whole life: nothing twice.
        dedupe_key=f"{kind}:{ticket['id']}:{clock}",
        title=f"{_HEADLINES[kind]} ({clock} clock): {ticket['subject']}"[:300],
    )
    await create_triggered_task(conn, spec, marker.assignee_id, RelatedType.ticket, ticket["id"])
