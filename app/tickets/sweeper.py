"""The SLA sweeper: records breaches and at-risk points of tickets nobody is touching.

Requests already catch up a ticket's clocks whenever they change it (`clocks.py`); the
sweeper does the same for every ticket whose stored `sla_next_action_at` (its next
at-risk or due instant not yet on record, in real time whatever the calendar) has come,
so a breach is recorded and escalated even when no one looks at the ticket. Each is dated
when it happened (the due instant), not when the sweeper noticed. A ticket with nothing
pending is never claimed, so a sweep with nothing to record reads no ticket at all.

Sweepers may run in parallel (every API worker, the `salesflow sla-sweep` command): each
batch locks its tickets with `FOR UPDATE SKIP LOCKED`, so they split the work, and the
log replay plus the tasks' unique dedupe keys make a second look at a ticket a no-op.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.audit.service import record
from app.core.crud import Row
from app.core.db import Database
from app.core.enums import SlaEventKind
from app.rules.sla_registry import SlaRegistry
from app.tickets import clock
from app.tickets import policy as policies
from app.tickets import repository as repo
from app.tickets.clocks import as_events, persist_plan, plan_clocks

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


async def _sweep_batch(
    conn: AsyncConnection, tickets: list[Row], now: datetime, registry: SlaRegistry
) -> SweepResult:
    logs = await repo.load_logs(conn, [ticket["id"] for ticket in tickets])
    result = SweepResult()
    for ticket in tickets:
        result += await _sweep_ticket(conn, ticket, logs.get(ticket["id"], []), now, registry)
        # Replaying a log is CPU work; let requests served by this process go in between.
        await asyncio.sleep(0)
    return result


async def _sweep_ticket(
    conn: AsyncConnection, ticket: Row, rows: list[Row], now: datetime, registry: SlaRegistry
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
    await persist_plan(conn, ticket, rows[-1]["seq"] + 1, plan, actor_id=None, now=now)
    await repo.store_sweep(conn, ticket["id"], plan.columns, now)
    breaches = len(plan.marked(SlaEventKind.breached))
    warnings = len(plan.marked(SlaEventKind.at_risk))
    if not breaches and not warnings:
        # Markers are audited where they are appended; this is a catch-up of stale columns.
        after = {**ticket, **changed}
        await record(
            conn, None, "ticket.sla_updated", "ticket", ticket["id"], before=ticket, after=after
        )
    return SweepResult(1, breaches, warnings)


async def run_sweeper_forever(app: Any) -> None:
    """Sweep every `settings.sla_sweep_interval_seconds` until cancelled (0 disables it)."""
    interval = app.state.settings.sla_sweep_interval_seconds
    if interval <= 0:
        return
    while True:
        try:
            result = await sweep(app.state.db, clock.now())
        except Exception:
            # A failed sweep (database restarting) must not end the loop; the next one
            # picks up everything this one missed.
            log.exception("SLA sweep failed; retrying in %s s", interval)
        else:
            if result.breaches or result.warnings:
                log.info(
                    "SLA sweep: %d tickets, %d breaches, %d warnings",
                    result.examined,
                    result.breaches,
                    result.warnings,
                )
        await asyncio.sleep(interval)
