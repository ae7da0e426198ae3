"""The SLA sweeper: records breaches and at-risk points of tickets nobody is touching.

Requests already catch up a ticket's clocks whenever they change it (`clocks.py`); the
sweeper does the same for every ticket whose next due time is near, so a breach is
recorded and escalated even when no one looks at the ticket. Each is dated when it
happened (the due instant), not when the sweeper noticed.

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
    """Bring every ticket due before `now` (plus the at-risk horizon) up to `now`.

    One transaction per batch of `batch` tickets, in next-due order, until none is left,
    so a backlog of long-breached tickets cannot starve newer ones.
    """
    db = source if isinstance(source, Database) else Database(source)
    registry = policies.REGISTRY
    until = now + registry.warning_horizon()
    total, after = SweepResult(), None
    while True:
        async with db.transaction() as conn:
            tickets = await repo.lock_due_tickets(conn, until, after, batch)
            total += await _sweep_batch(conn, tickets, now, registry)
        if len(tickets) < batch:
            return total
        after = (tickets[-1]["next_due_at"], tickets[-1]["id"])


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
    action = "sla_breached" if breaches else "sla_at_risk" if warnings else "sla_updated"
    await record(
        conn,
        None,
        f"ticket.{action}",
        "ticket",
        ticket["id"],
        before=ticket,
        after={**ticket, **changed},
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
