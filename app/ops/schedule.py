"""The scheduled round: the work that comes due with time alone.

Every `settings.triggers_interval_seconds` (0 disables it) the job engine runs one round
(`app.jobs`), in one transaction:
1. re-tier every customer (as `salesflow recompute-tiers`), then open the renewal and
   reactivation tasks that fell due (as `salesflow run-triggers`), in that order, since
   the tasks are chosen by tier;
2. expire quotes past their validity and deem silent deliveries accepted (as
   `salesflow run-deadlines`);
3. forget login-attempt counters whose window has closed, Idempotency-Keys older than
   `settings.idempotency_ttl_hours`, events older than `settings.events_retention_days`
   and webhook deliveries (with their attempts) past the webhook policy's retention.
On PostgreSQL a transaction-scoped advisory lock gives a round to one process while the
others skip it, so several workers never rewrite every customer at once; the tasks' dedupe
keys and the deadlines' state checks would keep an overlap harmless anyway.
(The SLA sweeper has its own, much shorter interval: `app.tickets.sweeper`.)
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.service import forget_old_failures
from app.contracts.deadlines import DeemedRun, deem_due_acceptances
from app.core.config import Settings
from app.core.db import Database
from app.core.deps import forget_old_idempotency_keys
from app.customers.tiering import recompute_all
from app.customers.triggers import TriggerRun, run_time_triggers
from app.events.service import prune_events
from app.quotes.expiry import expire_lapsed_quotes
from app.rules.policy import DEFAULT_POLICY
from app.webhooks.service import prune_delivery_log

# Any fixed bigint naming this job among the advisory locks ("SFtiers").
ROUND_LOCK_KEY = 0x5346_7469_6572_73


@dataclass(frozen=True)
class RoundResult:
    tiered: int
    tasks: TriggerRun
    expired_quotes: int
    acceptances: DeemedRun
    forgotten_login_failures: int
    forgotten_idempotency_keys: int
    pruned_events: int = 0
    pruned_deliveries: int = 0


async def _claim_round(conn: AsyncConnection) -> bool:
    if conn.dialect.name != "postgresql":
        return True
    statement = sa.select(sa.func.pg_try_advisory_xact_lock(ROUND_LOCK_KEY))
    return bool((await conn.execute(statement)).scalar())


async def run_round(db: Database, settings: Settings, now: datetime) -> RoundResult | None:
    """One round of everything time decides; None when another process has the round."""
    async with db.transaction() as conn:
        if not await _claim_round(conn):
            return None
        tiered = await recompute_all(conn, now, DEFAULT_POLICY.customers)
        tasks = await run_time_triggers(conn, now, DEFAULT_POLICY.tasks)
        expired = await expire_lapsed_quotes(conn, now)
        acceptances = await deem_due_acceptances(conn, now)
        failures = await forget_old_failures(conn, settings, now)
        keys = await forget_old_idempotency_keys(conn, settings, now)
        pruned = await prune_events(conn, now, settings.events_retention_days)
        deliveries = await prune_delivery_log(conn, now)
    return RoundResult(tiered, tasks, expired, acceptances, failures, keys, pruned, deliveries)
