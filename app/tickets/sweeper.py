"""The SLA sweeper: records breaches and at-risk points of tickets nobody is touching.

Requests already catch up a ticket's clocks whenever they change it (`clocks.py`); the
sweeper does the same for every ticket whose stored `sla_next_action_at` (its next
at-risk or due instant not yet on record, in real time whatever the calendar) has come,
so a breach is recorded and escalated even when no one looks at the ticket. Each is dated
when it happened (the due instant), not when the sweeper noticed. A ticket with nothing
pending is never claimed, so a sweep with nothing to record reads no ticket at all.

Each breach or warning is audited and emitted (`ticket.sla_breached`, `ticket.sla_at_risk`)
as the service's `sla_sweep` job; a catch-up of stale columns alone is a `ticket.updated`.
The log rows, audit entries and events of a whole batch are written together, one
statement on PostgreSQL, not one per ticket.

Sweepers may run in parallel (several job workers, the `salesflow sla-sweep` command): each
batch locks its tickets with `FOR UPDATE SKIP LOCKED`, so they split the work, and the
log replay plus the tasks' unique dedupe keys make a second look at a ticket a no-op.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.audit.service import audit_values
from app.core.access import SYSTEM
from app.core.crud import Row
from app.core.db import Database
from app.core.enums import SlaEventKind
from app.events.catalogue import EventType
from app.events.outbox import event_values
from app.rules.sla_registry import SlaRegistry
from app.tickets import policy as policies
from app.tickets import repository as repo
from app.tickets.clocks import (
    SWEEP_JOB,
    ClockRecords,
    as_events,
    plan_clocks,
    reached_markers,
)

log = logging.getLogger("salesflow.sla")


@dataclass(frozen=True)
class SweepResult:
    examined: int = 0
    breaches: int = 0
    warnings: int = 0

    def __add__(self, other: "SweepResult") -> "SweepResult":
        return SweepResult(
            self.examined + other.examined,
            self.breaches + other.breaches,
            self.warnings + other.warnings,
        )


async def sweep(
    source: Database | AsyncEngine,
    now: datetime,
    *,
    batch: int = 500,
) -> SweepResult:
    """Record every warning and breach due by `now`.

    One transaction per batch of `batch` tickets, in next-action order, until none is
    left; the keyset moves past each batch, so a ticket whose log cannot be replayed is
    looked at once per sweep, not forever.
    """
    db = source if isinstance(source, Database) else Database(source)
    registry = policies.REGISTRY
    total, after = SweepResult(), None
    while True:
        async with db.transaction() as conn:
            tickets = await repo.lock_due_tickets(conn, now, after, batch)
            total += await _sweep_batch(conn, tickets, now, registry)
        if len(tickets) < batch:
            return total
        after = (tickets[-1]["sla_next_action_at"], tickets[-1]["id"])


# Rows gathered before a batch writes them: every statement well under the databases'
# limits on bound parameters (about 40 a marker), however many markers a batch reaches.
FLUSH_AT = 600


async def _sweep_batch(
    conn: AsyncConnection, tickets: list[Row], now: datetime, registry: SlaRegistry
) -> SweepResult:
    """Replay each ticket's log, store its columns and gather what it reached; then write
    the log rows, audit entries and events of the whole batch together."""
    logs = await repo.load_logs(conn, [ticket["id"] for ticket in tickets])
    result, records = SweepResult(), ClockRecords()
    for ticket in tickets:
        result += await _sweep_ticket(
            conn, ticket, logs.get(ticket["id"], []), now, registry, records
        )
        if len(records) >= FLUSH_AT:
            await records.write(conn)
        # Replaying a log is CPU work; let requests served by this process go in between.
        await asyncio.sleep(0)
    await records.write(conn)
    return result


async def _sweep_ticket(
    conn: AsyncConnection,
    ticket: Row,
    rows: list[Row],
    now: datetime,
    registry: SlaRegistry,
    records: ClockRecords,
) -> SweepResult:
    events = as_events(rows)
    if not events or any(event.at > now for event in events):
        # Changed after this sweep's `now`: that write already caught its clocks up.
        return SweepResult(examined=1)
    try:
        plan = plan_clocks(registry, events, [], now, ticket["escalation_level"])
    except ValueError:
        log.exception("cannot replay the SLA log of ticket %s", ticket["id"])
        return SweepResult(examined=1)
    changed = {name: value for name, value in plan.columns.items() if ticket[name] != value}
    if not plan.appended and not changed:
        return SweepResult(examined=1)
    markers = await reached_markers(conn, ticket, plan, now)
    row = await repo.store_sweep(conn, ticket, plan.columns, now)
    before = _as_it_was(row, ticket)
    records.log += repo.log_rows(
        ticket["id"], rows[-1]["seq"] + 1, plan.appended, actor_id=None, recorded_at=now
    )
    records.add_markers(conn, row, before, markers, job=SWEEP_JOB)
    if not markers:
        _record_catch_up(conn, records, row, before, ticket, changed, now)
    breaches = len(plan.marked(SlaEventKind.breached))
    warnings = len(plan.marked(SlaEventKind.at_risk))
    return SweepResult(1, breaches, warnings)


def _record_catch_up(
    conn: AsyncConnection,
    records: ClockRecords,
    row: Row,
    before: Row,
    ticket: Row,
    changed: dict[str, Any],
    now: datetime,
) -> None:
    """Stale columns caught up, no marker reached: still a new version, so audited and,
    for the mirrors that follow versions, a `ticket.updated`."""
    after = {**ticket, **changed}
    records.audits.append(
        audit_values(None, "ticket.sla_updated", "ticket", row["id"], before=ticket, after=after)
    )
    records.events.append(
        event_values(
            conn, SYSTEM, EventType.ticket_updated, row, before=before, at=now, job=SWEEP_JOB
        )
    )


def _as_it_was(row: Row, ticket: Row) -> dict[str, Any]:
    """The ticket as it was before the sweep wrote `row`: the sweep changes only the
    columns it locked the ticket with (the clocks', the version, `updated_at`)."""
    return {name: ticket.get(name, value) for name, value in row.items()}
